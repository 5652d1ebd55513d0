package ec2sim_test

import (
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
