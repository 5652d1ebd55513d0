//go:build linux

package ec2sim_test

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestAvailabilityZones(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	zones := must[*ec2.DescribeAvailabilityZonesOutput](t)(c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	var names, ids []string
	for _, z := range zones.AvailabilityZones {
		names, ids = append(names, *z.ZoneName), append(ids, *z.ZoneId)
		if z.State != types.AvailabilityZoneStateAvailable || *z.RegionName != home || *z.ZoneType != "availability-zone" ||
			*z.GroupName != "us-east-1-zg-1" || *z.NetworkBorderGroup != home || z.OptInStatus != types.AvailabilityZoneOptInStatusOptInNotRequired {
			t.Errorf("zone %+v", z)
		}
	}
	if want := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}; !slices.Equal(names, want) {
		t.Errorf("zones %v; want %v", names, want)
	}
	if ids[0] != "use1-az1" || ids[5] != "use1-az6" {
		t.Errorf("zone ids %v", ids)
	}
	away := must[*ec2.DescribeAvailabilityZonesOutput](t)(w.ec2(away).DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	if len(away.AvailabilityZones) != 3 || *away.AvailabilityZones[2].ZoneName != "eu-west-1c" || *away.AvailabilityZones[2].ZoneId != "euw1-az3" {
		t.Errorf("eu-west-1's zones %+v", away.AvailabilityZones)
	}

	// By name, by id, by filter.
	for _, tc := range []struct {
		in   *ec2.DescribeAvailabilityZonesInput
		want []string
	}{
		{&ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1c"}}, []string{"us-east-1c"}},
		{&ec2.DescribeAvailabilityZonesInput{ZoneIds: []string{"use1-az2", "use1-az4"}}, []string{"us-east-1b", "us-east-1d"}},
		{&ec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("zone-name", "us-east-1[ab]", "*-1f")}}, []string{"us-east-1f"}},
		{&ec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("zone-id", "use1-az1"), filter("state", "available")}}, []string{"us-east-1a"}},
		{&ec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("region-name", "eu-west-1")}}, nil},
		{&ec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("zone-type", "local-zone")}}, nil},
		{&ec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("group-long-name", "US East (N. Virginia) 1"), filter("zone-name", "*e")}}, []string{"us-east-1e"}},
		{&ec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("message", "*")}}, nil},
	} {
		out := must[*ec2.DescribeAvailabilityZonesOutput](t)(c.DescribeAvailabilityZones(ctx, tc.in))
		var got []string
		for _, z := range out.AvailabilityZones {
			got = append(got, *z.ZoneName)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v; want %v", tc.in, got, tc.want)
		}
	}
	_, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1z"}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("zone-colour", "blue")}})
	wantCode(t, err, "InvalidParameterValue")
}

func TestSubnetsOfZones(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	all := must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}))
	if len(all.Subnets) != 6 {
		t.Fatalf("%d subnets in us-east-1; want one for each of its six zones", len(all.Subnets))
	}
	cidrs := map[string]bool{}
	byZone := map[string]types.Subnet{}
	for _, sn := range all.Subnets {
		cidrs[*sn.CidrBlock] = true
		byZone[*sn.AvailabilityZone] = sn
	}
	if len(cidrs) != 6 || len(byZone) != 6 {
		t.Errorf("subnets' CIDRs %v, zones %d: want six distinct", cidrs, len(byZone))
	}
	b := byZone["us-east-1b"]
	// Filters: the documented ones work, with wildcards; tags too.
	must[*ec2.CreateTagsOutput](t)(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*b.SubnetId}, Tags: []types.Tag{tag("tier", "build")}}))
	for _, tc := range []struct {
		filters []types.Filter
		want    int
	}{
		{[]types.Filter{filter("availability-zone", "us-east-1b")}, 1},
		{[]types.Filter{filter("availabilityZone", "us-east-1[bc]", "us-east-1c")}, 1},
		{[]types.Filter{filter("availability-zone-id", "use1-az2")}, 1},
		{[]types.Filter{filter("default-for-az", "true")}, 6},
		{[]types.Filter{filter("default-for-az", "false")}, 0},
		{[]types.Filter{filter("vpc-id", *b.VpcId)}, 6},
		{[]types.Filter{filter("subnet-id", *b.SubnetId)}, 1},
		{[]types.Filter{filter("cidr-block", "172.31.16.0/20")}, 1},
		{[]types.Filter{filter("cidr-block", "172.31.*")}, 6},
		{[]types.Filter{filter("tag:tier", "build")}, 1},
		{[]types.Filter{filter("tag-key", "tier")}, 1},
		{[]types.Filter{filter("state", "available"), filter("map-public-ip-on-launch", "true"), filter("owner-id", ec2sim.Account)}, 6},
		{[]types.Filter{filter("available-ip-address-count", "4091")}, 6},
		{[]types.Filter{filter("ipv6-native", "false"), filter("subnet-arn", "arn:aws:ec2:us-east-1:*:subnet/"+*b.SubnetId)}, 1},
		{[]types.Filter{filter("outpost-arn", "*")}, 0},
		{[]types.Filter{filter("private-dns-name-options-on-launch.hostname-type", "ip-name")}, 6},
	} {
		out := must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: tc.filters}))
		if len(out.Subnets) != tc.want {
			t.Errorf("filter %s=%v: %d subnets; want %d", *tc.filters[0].Name, tc.filters[0].Values, len(out.Subnets), tc.want)
		}
	}
	_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("zone", "x")}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0123456789abcdef0"}})
	wantCode(t, err, "InvalidSubnetID.NotFound")
	page := must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(5)}))
	if len(page.Subnets) != 5 || page.NextToken == nil {
		t.Errorf("a page of 5: %d subnets, next %v", len(page.Subnets), page.NextToken)
	}

	// A launch in a zone lands in its default subnet; one in a subnet, in
	// the subnet's zone. Each takes an address, which the count shows.
	out := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(2), MaxCount: aws.Int32(2),
		InstanceType: types.InstanceTypeT3Micro, Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1c")}}))
	for _, in := range out.Instances {
		if *in.Placement.AvailabilityZone != "us-east-1c" || *in.SubnetId != *byZone["us-east-1c"].SubnetId {
			t.Errorf("an instance placed in us-east-1c is in %s, %s", *in.Placement.AvailabilityZone, *in.SubnetId)
		}
	}
	out = must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT3Micro, SubnetId: b.SubnetId}))
	in := w.instance(home, *out.Instances[0].InstanceId)
	if *in.Placement.AvailabilityZone != "us-east-1b" {
		t.Errorf("an instance of %s's subnet is in %s", "us-east-1b", *in.Placement.AvailabilityZone)
	}
	vols := must[*ec2.DescribeVolumesOutput](t)(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{filter("availability-zone", "us-east-1b")}}))
	if len(vols.Volumes) != 1 || *vols.Volumes[0].Attachments[0].InstanceId != *in.InstanceId {
		t.Errorf("volumes in us-east-1b: %+v", vols.Volumes)
	}
	c3 := must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{*byZone["us-east-1c"].SubnetId}}))
	if n := *c3.Subnets[0].AvailableIpAddressCount; n != 4089 {
		t.Errorf("us-east-1c's subnet has %d addresses free after two launches; want 4089", n)
	}
	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT3Micro, SubnetId: b.SubnetId, Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1a")}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT3Micro, Placement: &types.Placement{AvailabilityZone: aws.String("eu-west-1a")}})
	if wantCode(t, err, "InvalidParameterValue"); errorMessage(err) != "Invalid availability zone: [eu-west-1a]" {
		t.Errorf("an unknown zone: %q", errorMessage(err))
	}
}

// An instance has a public and a private address, both on loopback, and
// its SSH server answers on both.
func TestPrivateAddressReachesTheSameServer(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	key := w.newKey(home, "k")
	id := w.run(home, w.base, "k")
	in := w.instance(home, id)
	public, private := *in.PublicIpAddress, *in.PrivateIpAddress
	if public == private || net.ParseIP(private) == nil || !net.ParseIP(private).IsLoopback() {
		t.Fatalf("public %s, private %s: want two loopback addresses", public, private)
	}
	if *in.PrivateDnsName != "ip-"+dashes(private)+".ec2.internal" || *in.PublicDnsName != "ec2-"+dashes(public)+".compute-1.amazonaws.com" {
		t.Errorf("DNS names %s, %s", *in.PrivateDnsName, *in.PublicDnsName)
	}
	ni := in.NetworkInterfaces
	if len(ni) != 1 || *ni[0].PrivateIpAddress != private || ni[0].Association == nil || *ni[0].Association.PublicIp != public ||
		*ni[0].SubnetId != *in.SubnetId || *ni[0].Attachment.DeviceIndex != 0 || len(ni[0].Groups) != 1 || *ni[0].MacAddress == "" {
		t.Errorf("network interfaces %+v", ni)
	}
	port := strconv.Itoa(w.opts.SSHPort)
	var viaPublic, viaPrivate ssh.PublicKey
	for addr, hk := range map[string]*ssh.PublicKey{public: &viaPublic, private: &viaPrivate} {
		cl, err := dial(net.JoinHostPort(addr, port), key, hk)
		if err != nil {
			t.Fatalf("SSH to %s: %v", addr, err)
		}
		out, _, _ := runSSH(t, cl, "echo $SSH_CONNECTION", "")
		if fields := strings.Fields(out); len(fields) != 4 || fields[2] != addr {
			t.Errorf("SSH_CONNECTION %q; want the server address %s", out, addr)
		}
		cl.Close()
	}
	if string(viaPublic.Marshal()) != string(viaPrivate.Marshal()) {
		t.Error("the public and private addresses answer with different host keys")
	}
	st := w.sim.State().Regions[home].Instances[0]
	if st.Address != public || st.PrivateAddress != private || st.Zone == "" || st.Subnet != *in.SubnetId {
		t.Errorf("state: %+v", st)
	}

	// Stopped, it keeps its private address and loses its public one; it
	// gets another when it starts.
	must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	in = w.instance(home, id)
	if in.PublicIpAddress != nil || aws.ToString(in.PrivateIpAddress) != private {
		t.Errorf("a stopped instance: public %v, private %v", aws.ToString(in.PublicIpAddress), aws.ToString(in.PrivateIpAddress))
	}
	if _, err := dial(net.JoinHostPort(private, port), key, nil); err == nil {
		t.Error("a stopped instance answers SSH on its private address")
	}
	other := w.run(home, w.base, "")
	w.instance(home, other) // takes the public address the stopped instance gave up
	must[*ec2.StartInstancesOutput](t)(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	in = w.instance(home, id)
	if in.PublicIpAddress == nil || *in.PublicIpAddress == public || *in.PrivateIpAddress != private {
		t.Errorf("a restarted instance: public %v (was %s), private %v", aws.ToString(in.PublicIpAddress), public, aws.ToString(in.PrivateIpAddress))
	}
	cl, err := dial(net.JoinHostPort(private, port), key, nil)
	if err != nil {
		t.Fatalf("SSH to the private address after a restart: %v", err)
	}
	cl.Close()
}

func dashes(ip string) string { return strings.ReplaceAll(ip, ".", "-") }

func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}
