package aws

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/rules"
)

// noSpotCapacity is EC2's answer to a spot launch when the pool of that
// type has no capacity.
const noSpotCapacity = "InsufficientInstanceCapacity"

// spotState is what a bake on spot remembers of its launches.
type spotState struct {
	onSpot bool // the build instance is a spot instance
}

// runInstances launches the build instance as in asks: on demand, or for
// an image with spot, on spot as each of its types in turn (each checked
// against base's architecture first), then on demand as in asks when
// none has capacity, said in the log and as a phase. Test instances run
// on demand.
func (s *bakeState) runInstances(ctx context.Context, in *ec2.RunInstancesInput, base types.Image) (*ec2.RunInstancesOutput, error) {
	sp := s.attrs.Spot
	if sp == nil || s.testing {
		return s.launchOnce(ctx, in)
	}
	typeNames := sp.InstanceTypes
	if len(typeNames) == 0 {
		typeNames = []string{string(in.InstanceType)}
	}
	for _, t := range typeNames {
		if _, err := instanceTypeFor(rules.AWSAttrs{InstanceType: t}, base); err != nil {
			return nil, fmt.Errorf("spot: %w", err)
		}
	}
	var full []string
	for i, t := range typeNames {
		try := *in
		try.InstanceType = types.InstanceType(t)
		try.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{
			MarketType: types.MarketTypeSpot,
			SpotOptions: &types.SpotMarketOptions{
				SpotInstanceType:             types.SpotInstanceTypeOneTime,
				InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate,
			},
		}
		if sp.MaxPrice != "" {
			try.InstanceMarketOptions.SpotOptions.MaxPrice = awssdk.String(sp.MaxPrice)
		}
		// A token of its own: EC2 refuses a token given again with
		// other parameters.
		try.ClientToken = awssdk.String(awssdk.ToString(in.ClientToken) + "-spot" + strconv.Itoa(i))
		s.phase("launch spot " + t)
		out, err := s.launchOnce(ctx, &try, withoutRetryOn(noSpotCapacity))
		if err == nil {
			s.spot.onSpot = true
			fmt.Fprintf(s.log, "==> launched on spot as %s\n", t)
			return out, nil
		}
		if errorCode(err) != noSpotCapacity || ctx.Err() != nil {
			return nil, err
		}
		// No capacity is EC2's answer to this very token, which it would
		// have answered with an instance had an earlier attempt of the
		// call launched one: nothing was, whatever the 5xx says.
		s.launchLost = false
		fmt.Fprintf(s.log, "==> no spot capacity for %s\n", t)
		full = append(full, t)
	}
	s.phase("launch on-demand: no spot capacity")
	fmt.Fprintf(s.log, "==> no spot capacity for %s: falling back to an on-demand %s instance\n", strings.Join(full, ", "), in.InstanceType)
	return s.launchOnce(ctx, in)
}

// launchOnce makes one RunInstances call, remembering it for the
// cleanup, and whether its answer is in doubt.
func (s *bakeState) launchOnce(ctx context.Context, in *ec2.RunInstancesInput, opts ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	s.launched, s.launch = true, in
	cctx, unknown := watchAnswers(ctx)
	out, err := s.ec2.RunInstances(cctx, in, opts...)
	if err != nil {
		s.launchLost = unknown(err)
	}
	return out, err
}

// launchType is the type of the last launch asked for.
func (s *bakeState) launchType() string {
	if s.launch == nil {
		return s.attrs.InstanceType
	}
	return string(s.launch.InstanceType)
}

// withoutRetryOn makes a call give up at once on an error of code: a
// spot pool without capacity is answered by the next type, not by asking
// the same pool ten times (each attempt taking a RunInstances token).
func withoutRetryOn(code string) func(*ec2.Options) {
	return func(o *ec2.Options) {
		o.Retryer = retryerWithout{o.Retryer, code}
	}
}

type retryerWithout struct {
	awssdk.Retryer
	code string
}

func (r retryerWithout) IsErrorRetryable(err error) bool {
	return errorCode(err) != r.code && r.Retryer.IsErrorRetryable(err)
}
