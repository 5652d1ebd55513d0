//go:build linux

package ec2sim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// An instance runs with a profile IAM has (the default one or one of
// Options.InstanceProfiles), named or by ARN; any other fails the launch
// as EC2 fails it, and launches nothing.
func TestInstanceProfiles(t *testing.T) {
	w := newWorld(t, ec2sim.Options{InstanceProfiles: []string{"builder"}, RateLimitScale: 10}) // many launches in a row
	c := w.ec2(home)
	run := func(spec *types.IamInstanceProfileSpecification) (*ec2.RunInstancesOutput, error) {
		return c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), IamInstanceProfile: spec})
	}
	arn := "arn:aws:iam::" + ec2sim.Account + ":instance-profile/builder"
	for _, spec := range []*types.IamInstanceProfileSpecification{
		{Name: aws.String("builder")},
		{Name: aws.String(ec2sim.DefaultInstanceProfile)},
		{Arn: aws.String(arn)},
	} {
		out := must[*ec2.RunInstancesOutput](t)(run(spec))
		id := aws.ToString(out.Instances[0].InstanceId)
		got := w.instance(home, id).IamInstanceProfile
		if got == nil || !strings.HasPrefix(aws.ToString(got.Arn), "arn:aws:iam::"+ec2sim.Account+":instance-profile/") ||
			!strings.HasPrefix(aws.ToString(got.Id), "AIPA") {
			t.Errorf("instance launched with %+v shows profile %+v", spec, got)
		}
	}
	byProfile := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("iam-instance-profile.arn"), Values: []string{arn}}}}))
	if n := len(byProfile.Reservations); n != 2 {
		t.Errorf("filter iam-instance-profile.arn found %d reservations, want 2", n)
	}
	before := len(w.sim.State().Regions[home].Instances)
	_, err := run(&types.IamInstanceProfileSpecification{Name: aws.String("nobody")})
	wantCode(t, err, "InvalidParameterValue")
	if !strings.Contains(err.Error(), "Value (nobody) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name") {
		t.Errorf("unknown profile: %v", err)
	}
	_, err = run(&types.IamInstanceProfileSpecification{Arn: aws.String("arn:aws:iam::" + ec2sim.Account + ":instance-profile/nobody")})
	wantCode(t, err, "InvalidParameterValue")
	if n := len(w.sim.State().Regions[home].Instances); n != before {
		t.Errorf("refused launches left %d instances more", n-before)
	}
}
