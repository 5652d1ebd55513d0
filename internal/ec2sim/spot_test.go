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

// A spot instance is shown as one (instanceLifecycle, its request's id),
// cannot be stopped (its request is one-time), and is refused with
// InsufficientInstanceCapacity under a no-spot-capacity fault, which lets
// on-demand launches through. Options EC2 refuses are refused.
func TestSpotInstances(t *testing.T) {
	w := newWorld(t, ec2sim.Options{RateLimitScale: 10}) // many launches in a row: not a test of the limits
	c := w.ec2(home)
	run := func(market *types.InstanceMarketOptionsRequest) (*ec2.RunInstancesOutput, error) {
		return c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceMarketOptions: market})
	}
	spot := func(o *types.SpotMarketOptions) *types.InstanceMarketOptionsRequest {
		return &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot, SpotOptions: o}
	}
	out := must[*ec2.RunInstancesOutput](t)(run(spot(&types.SpotMarketOptions{MaxPrice: aws.String("0.05")})))
	id := aws.ToString(out.Instances[0].InstanceId)
	in := w.instance(home, id)
	if in.InstanceLifecycle != types.InstanceLifecycleTypeSpot || !strings.HasPrefix(aws.ToString(in.SpotInstanceRequestId), "sir-") {
		t.Errorf("spot instance shows lifecycle %q, request %q", in.InstanceLifecycle, aws.ToString(in.SpotInstanceRequestId))
	}
	onDemand := w.instance(home, w.run(home, w.base, ""))
	if onDemand.InstanceLifecycle != "" || onDemand.SpotInstanceRequestId != nil {
		t.Errorf("on-demand instance shows lifecycle %q", onDemand.InstanceLifecycle)
	}
	bySpot := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("instance-lifecycle"), Values: []string{"spot"}}}}))
	if len(bySpot.Reservations) != 1 || aws.ToString(bySpot.Reservations[0].Instances[0].InstanceId) != id {
		t.Errorf("filter instance-lifecycle=spot found %d reservations", len(bySpot.Reservations))
	}
	w.instance(home, id) // running now
	_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "UnsupportedOperation")
	must[*ec2.TerminateInstancesOutput](t)(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))

	for name, tc := range map[string]struct {
		market *types.InstanceMarketOptionsRequest
		code   string
	}{
		"one-time stopped":  {spot(&types.SpotMarketOptions{InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorStop}), "InvalidParameterCombination"},
		"price too low":     {spot(&types.SpotMarketOptions{MaxPrice: aws.String("0.0001")}), "InvalidParameterValue"},
		"price not a price": {spot(&types.SpotMarketOptions{MaxPrice: aws.String("cheap")}), "InvalidParameterValue"},
		"bad market":        {&types.InstanceMarketOptionsRequest{MarketType: "auction"}, "InvalidParameterValue"},
	} {
		_, err := run(tc.market)
		if errorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}

	if _, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultNoSpotCapacity}); err != nil {
		t.Fatal(err)
	}
	before := len(w.sim.State().Regions[home].Instances)
	_, err = run(spot(nil))
	wantCode(t, err, "InsufficientInstanceCapacity")
	if !strings.Contains(err.Error(), "There is no Spot capacity available that matches your request.") {
		t.Errorf("no spot capacity: %v", err)
	}
	must[*ec2.RunInstancesOutput](t)(run(nil))
	if n := len(w.sim.State().Regions[home].Instances) - before; n != 1 {
		t.Errorf("%d instances launched under the fault, want the on-demand one", n)
	}
}
