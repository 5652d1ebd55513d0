package aws

import (
	"context"
	"fmt"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// describeInstance returns the instance, or nil when EC2 does not know it
// (yet, or any more).
func describeInstance(ctx context.Context, client *ec2.Client, id string) (*types.Instance, error) {
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing instance %s: %w", id, err)
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if awssdk.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i], nil
			}
		}
	}
	return nil, nil
}

// terminateInstances terminates the instances and waits until they are
// gone; their root volumes go with them (DeleteOnTermination).
func terminateInstances(ctx context.Context, client *ec2.Client, ids []string, poll, timeout time.Duration) error {
	var err error
	for attempt := 0; ; attempt++ {
		_, err = client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
		// EC2 may not know an instance it has just launched (eventual
		// consistency): a few more tries before taking it for gone.
		if !isNotFound(err) || attempt == notFoundRetries || sleep(ctx, poll) != nil {
			break
		}
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("terminating %s: %w", strings.Join(ids, ", "), err)
	}
	what := fmt.Sprintf("waiting for %s to terminate", strings.Join(ids, ", "))
	return waitFor(ctx, poll, timeout, what, func(ctx context.Context) (bool, error) {
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if isNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("describing %s: %w", strings.Join(ids, ", "), err)
		}
		for _, r := range out.Reservations {
			for _, inst := range r.Instances {
				if inst.State == nil || inst.State.Name != types.InstanceStateNameTerminated {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

// notFoundRetries is how often a call naming an id EC2 gave is tried
// again when EC2 answers that it does not know it.
const notFoundRetries = 3

// findInstances lists the ids of the instances that match filters and are
// not terminated.
func findInstances(ctx context.Context, client *ec2.Client, filters []types.Filter) ([]string, error) {
	reservations, err := describeAll(ctx, ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{Filters: append(filters, notTerminated())}),
		reservationsOf)
	if err != nil {
		return nil, fmt.Errorf("looking up instances: %w", err)
	}
	var ids []string
	for _, r := range reservations {
		for _, inst := range r.Instances {
			ids = append(ids, awssdk.ToString(inst.InstanceId))
		}
	}
	return ids, nil
}

func reservationsOf(o *ec2.DescribeInstancesOutput) []types.Reservation { return o.Reservations }

// notTerminated matches the instances that are not terminated (yet).
func notTerminated() types.Filter {
	return filter("instance-state-name", "pending", "running", "shutting-down", "stopping", "stopped")
}
