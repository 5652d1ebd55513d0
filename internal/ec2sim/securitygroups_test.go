//go:build linux

package ec2sim_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func sshFrom(cidr string) []types.IpPermission {
	return []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []types.IpRange{{CidrIp: aws.String(cidr), Description: aws.String("imgraph")}},
	}}
}

func TestSecurityGroups(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	vpcs := must[*ec2.DescribeVpcsOutput](t)(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{filter("is-default", "true")}}))
	if len(vpcs.Vpcs) != 1 || !*vpcs.Vpcs[0].IsDefault {
		t.Fatalf("default VPCs %+v", vpcs.Vpcs)
	}
	vpcID := vpcs.Vpcs[0].VpcId
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("imgraph-r1"), Description: aws.String("SSH for a bake"), VpcId: vpcID,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{tag("imgraph:run", "r1")}}},
	}))
	if tagMap(sg.Tags)["imgraph:run"] != "r1" {
		t.Errorf("tags %v", tagMap(sg.Tags))
	}
	_, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("imgraph-r1"), Description: aws.String("again")})
	wantCode(t, err, "InvalidGroup.Duplicate")
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("x"), Description: aws.String("y"), VpcId: aws.String("vpc-0123456789abcdef0")})
	wantCode(t, err, "InvalidVpcID.NotFound")

	auth := must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: sg.GroupId, IpPermissions: sshFrom("203.0.113.7/32"),
	}))
	if !*auth.Return || len(auth.SecurityGroupRules) != 1 || *auth.SecurityGroupRules[0].CidrIpv4 != "203.0.113.7/32" || *auth.SecurityGroupRules[0].FromPort != 22 {
		t.Errorf("AuthorizeSecurityGroupIngress answered %+v", auth)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: sshFrom("203.0.113.7/32")})
	wantCode(t, err, "InvalidPermission.Duplicate")
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: sshFrom("203.0.113.7")})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-0123456789abcdef0"), IpPermissions: sshFrom("0.0.0.0/0")})
	wantCode(t, err, "InvalidGroup.NotFound")

	for _, f := range [][]types.Filter{
		{filter("tag:imgraph:run", "r1")},
		{filter("tag-key", "imgraph:run")},
		{filter("group-name", "imgraph-*")},
		{filter("ip-permission.cidr", "203.0.113.7/32"), filter("ip-permission.from-port", "22")},
	} {
		out := must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: f}))
		if len(out.SecurityGroups) != 1 || *out.SecurityGroups[0].GroupId != *sg.GroupId {
			t.Errorf("filter %s found %d groups", *f[0].Name, len(out.SecurityGroups))
		}
	}
	out := must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*sg.GroupId}}))
	g := out.SecurityGroups[0]
	if *g.GroupName != "imgraph-r1" || *g.Description != "SSH for a bake" || *g.VpcId != *vpcID || len(g.IpPermissions) != 1 ||
		len(g.IpPermissions[0].IpRanges) != 1 || *g.IpPermissions[0].IpRanges[0].CidrIp != "203.0.113.7/32" ||
		*g.IpPermissions[0].IpProtocol != "tcp" || *g.IpPermissions[0].ToPort != 22 || len(g.IpPermissionsEgress) != 1 {
		t.Errorf("group %+v", g)
	}
	st := w.sim.State().Regions[home].SecurityGroups
	if last := st[len(st)-1]; len(last.Ingress) != 1 || last.Ingress[0].CIDR != "203.0.113.7/32" || last.Ingress[0].FromPort != 22 || last.Ingress[0].Protocol != "tcp" {
		t.Errorf("state of the group %+v", last)
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
	wantCode(t, err, "InvalidGroup.NotFound")

	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: sshFrom("203.0.113.7/32")}); err != nil {
		t.Errorf("RevokeSecurityGroupIngress: %v", err)
	}
	defaults := must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}}))
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: defaults.SecurityGroups[0].GroupId})
	wantCode(t, err, "CannotDelete")
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
	wantCode(t, err, "InvalidGroup.NotFound")
}

func TestNetworkAndRegions(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(away)
	regions := must[*ec2.DescribeRegionsOutput](t)(c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}))
	if len(regions.Regions) != 2 || *regions.Regions[0].RegionName != home || *regions.Regions[1].Endpoint != "ec2.eu-west-1.amazonaws.com" {
		t.Errorf("regions %+v", regions.Regions)
	}
	vpcs := must[*ec2.DescribeVpcsOutput](t)(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	homeVpcs := must[*ec2.DescribeVpcsOutput](t)(w.ec2(home).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	if len(vpcs.Vpcs) != 1 || *vpcs.Vpcs[0].VpcId == *homeVpcs.Vpcs[0].VpcId || *vpcs.Vpcs[0].CidrBlock != "172.31.0.0/16" {
		t.Errorf("VPCs %+v (home %+v)", vpcs.Vpcs, homeVpcs.Vpcs)
	}
	subnets := must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("vpc-id", *vpcs.Vpcs[0].VpcId)}}))
	// Three zones, each with its default subnet, their CIDRs distinct.
	if len(subnets.Subnets) != 3 {
		t.Fatalf("%d subnets in eu-west-1", len(subnets.Subnets))
	}
	for i, sn := range subnets.Subnets {
		zone, cidr := fmt.Sprintf("eu-west-1%c", 'a'+i), fmt.Sprintf("172.31.%d.0/20", 16*i)
		if *sn.AvailabilityZone != zone || *sn.AvailabilityZoneId != fmt.Sprintf("euw1-az%d", i+1) || *sn.CidrBlock != cidr ||
			!*sn.DefaultForAz || !*sn.MapPublicIpOnLaunch || *sn.AvailableIpAddressCount != 4091 {
			t.Errorf("subnet %d: %s %s %s, %d free; want %s %s", i, *sn.SubnetId, *sn.AvailabilityZone, *sn.CidrBlock, *sn.AvailableIpAddressCount, zone, cidr)
		}
	}
	// A region the simulator does not have.
	_, err := w.ec2("ap-south-2").DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	wantCode(t, err, "OptInRequired")
}
