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

// Terminating the build instance is the cleanup of stepRunInstance (and a
// part of Cleanup): it runs on every path out, success included, before
// the security group it holds can be deleted.

// terminateInstances terminates the instances and waits until they are
// gone; their root volumes go with them (DeleteOnTermination).
func terminateInstances(ctx context.Context, client *ec2.Client, ids []string, poll, timeout time.Duration) error {
	_, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
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

// findInstances lists the ids of the instances that match filters and are
// not terminated.
func findInstances(ctx context.Context, client *ec2.Client, filters []types.Filter) ([]string, error) {
	filters = append(filters, filter("instance-state-name", "pending", "running", "shutting-down", "stopping", "stopped"))
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{Filters: filters})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("looking up instances: %w", err)
		}
		for _, r := range out.Reservations {
			for _, inst := range r.Instances {
				ids = append(ids, awssdk.ToString(inst.InstanceId))
			}
		}
	}
	return ids, nil
}
