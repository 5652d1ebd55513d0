package ec2sim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// A launch's network interface carries its subnet, groups and public
// address, never beside the instance-level ones.
func TestRunInstancesNetworkInterface(t *testing.T) {
	w := newWorld(t, ec2sim.Options{RateLimitScale: 10}) // many launches in a row: not a test of the limits
	c := w.ec2(home)
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	subnet := subnets.Subnets[0].SubnetId
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("builders"), Description: aws.String("builders")})
	if err != nil {
		t.Fatal(err)
	}
	run := func(in *ec2.RunInstancesInput) (*ec2.RunInstancesOutput, error) {
		in.ImageId, in.InstanceType = aws.String(w.base), types.InstanceTypeT3Micro
		in.MinCount, in.MaxCount = aws.Int32(1), aws.Int32(1)
		return c.RunInstances(ctx, in)
	}
	ni := func(public bool) []types.InstanceNetworkInterfaceSpecification {
		return []types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), AssociatePublicIpAddress: aws.Bool(public),
			SubnetId: subnet, Groups: []string{*g.GroupId}, DeleteOnTermination: aws.Bool(true)}}
	}

	_, err = run(&ec2.RunInstancesInput{NetworkInterfaces: ni(false), SubnetId: subnet})
	wantCode(t, err, "InvalidParameterCombination")
	_, err = run(&ec2.RunInstancesInput{NetworkInterfaces: ni(false), SecurityGroupIds: []string{*g.GroupId}})
	wantCode(t, err, "InvalidParameterCombination")
	bad := ni(true)
	bad[0].DeviceIndex = aws.Int32(1)
	_, err = run(&ec2.RunInstancesInput{NetworkInterfaces: bad})
	wantCode(t, err, "InvalidParameterCombination")
	bad = ni(true)
	bad[0].Groups = []string{"sg-0123456789abcdef0"}
	_, err = run(&ec2.RunInstancesInput{NetworkInterfaces: bad})
	wantCode(t, err, "InvalidGroup.NotFound")

	for _, public := range []bool{false, true} {
		out, err := run(&ec2.RunInstancesInput{NetworkInterfaces: ni(public)})
		if err != nil {
			t.Fatalf("RunInstances with a network interface (public %v): %v", public, err)
		}
		in := w.instance(home, *out.Instances[0].InstanceId)
		if (in.PublicIpAddress != nil) != public || in.PrivateIpAddress == nil || *in.SubnetId != *subnet ||
			len(in.SecurityGroups) != 1 || *in.SecurityGroups[0].GroupId != *g.GroupId {
			t.Errorf("public %v: instance public %v private %v in %v, groups %+v", public,
				aws.ToString(in.PublicIpAddress), aws.ToString(in.PrivateIpAddress), aws.ToString(in.SubnetId), in.SecurityGroups)
		}
	}
}

// An instance launched with AssociatePublicIpAddress false has no public
// address at all: nothing listens on one, before or after a restart.
func TestNoPublicAddressMeansNone(t *testing.T) {
	w := newWorld(t, ec2sim.Options{RateLimitScale: 10})
	c := w.ec2(home)
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), AssociatePublicIpAddress: aws.Bool(false)}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	// Each describe moves the simulator's instances on (time factor 0).
	reach := func(want types.InstanceStateName) {
		t.Helper()
		for range 10 {
			if w.instance(home, id).State.Name == want {
				return
			}
		}
		t.Fatalf("instance %s never reached %s", id, want)
	}
	check := func(when string) {
		t.Helper()
		for _, in := range w.sim.State().Regions[home].Instances {
			if in.ID == id && (in.Address != "" || in.SSH == "" || !strings.HasPrefix(in.SSH, in.PrivateAddress+":")) {
				t.Errorf("%s: address %q, private %q, SSH on %q: want no public address, SSH on the private one", when, in.Address, in.PrivateAddress, in.SSH)
			}
		}
	}
	reach(types.InstanceStateNameRunning)
	check("launched")
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	reach(types.InstanceStateNameStopped)
	if _, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	reach(types.InstanceStateNameRunning)
	check("started again")
}
