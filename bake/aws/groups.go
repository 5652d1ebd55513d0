package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// findGroup is the id of the group named name, "" when there is none.
func findGroup(ctx context.Context, client *ec2.Client, name string) (string, error) {
	out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{filter("group-name", name)},
	})
	if err != nil {
		return "", fmt.Errorf("looking up security group %s: %w", name, err)
	}
	for _, g := range out.SecurityGroups {
		return awssdk.ToString(g.GroupId), nil
	}
	return "", nil
}

// groupDeleteTimeout bounds the wait for a group's instances to let go of
// it, so that a group held by an instance that failed to terminate does
// not use up the time the other cleanups need.
const groupDeleteTimeout = 5 * time.Minute

// deleteSecurityGroup deletes a group, waiting while an instance that is
// going away still holds it (DependencyViolation).
func deleteSecurityGroup(ctx context.Context, client *ec2.Client, id string, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, groupDeleteTimeout)
	defer cancel()
	for {
		_, err := client.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(id)})
		switch {
		case err == nil || isNotFound(err):
			return nil
		case errorCode(err) != "DependencyViolation":
			return fmt.Errorf("deleting security group %s: %w", id, err)
		}
		if werr := sleep(ctx, poll); werr != nil {
			return fmt.Errorf("deleting security group %s: %w", id, errors.Join(err, werr))
		}
	}
}
