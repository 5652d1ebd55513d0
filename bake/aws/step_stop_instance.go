package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// stepStopInstance stops the instance, so the image is made from a file
// system at rest.
type stepStopInstance struct{}

func (*stepStopInstance) Name() string { return "stop" }

func (*stepStopInstance) Run(ctx context.Context, s *bakeState) error {
	s.phase(bake.PhaseCapture)
	// The SSH connection would only notice the shutdown by timing out.
	s.comm.Close()
	if s.spot.onSpot {
		// EC2 does not stop an instance of a one-time spot request:
		// CreateImage reboots it instead, for a file system at rest.
		fmt.Fprintf(s.log, "==> instance %s is a spot instance: not stopped; the image is made with a reboot\n", s.instanceID)
		return nil
	}
	if _, err := s.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{s.instanceID}}); err != nil {
		return fmt.Errorf("stopping instance %s: %w", s.instanceID, err)
	}
	what := fmt.Sprintf("waiting for instance %s to stop", s.instanceID)
	return waitFor(ctx, s.b.opts.PollInterval, s.b.waitTimeout(instanceWaitTimeout), what, func(ctx context.Context) (bool, error) {
		inst, err := describeInstance(ctx, s.ec2, s.instanceID)
		if err != nil {
			return false, err
		}
		if inst == nil {
			return false, fmt.Errorf("instance %s is gone", s.instanceID)
		}
		switch inst.State.Name {
		case types.InstanceStateNameStopped:
			return true, nil
		case types.InstanceStateNameStopping, types.InstanceStateNameRunning, types.InstanceStateNamePending:
			return false, nil
		}
		return false, fmt.Errorf("instance %s is %s instead of stopped%s", s.instanceID, inst.State.Name, because(inst.StateReason))
	})
}

// The instance goes with stepRunInstance's cleanup.
func (*stepStopInstance) Cleanup(ctx context.Context, s *bakeState) error { return nil }
