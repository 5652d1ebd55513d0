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
// it once they are terminating.
const groupDeleteTimeout = 5 * time.Minute

// deleteSecurityGroup deletes a group, waiting while an instance that is
// going away still holds it (DependencyViolation).
func deleteSecurityGroup(ctx context.Context, client *ec2.Client, id string, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, groupDeleteTimeout)
	defer cancel()
	for {
		err := deleteSecurityGroupOnce(ctx, client, id)
		if errorCode(err) != "DependencyViolation" {
			return err
		}
		if werr := sleep(ctx, poll); werr != nil {
			return fmt.Errorf("security group %s is left: %w", id, errors.Join(err, werr))
		}
	}
}

// deleteSecurityGroupOnce deletes a group; one already gone is deleted.
func deleteSecurityGroupOnce(ctx context.Context, client *ec2.Client, id string) error {
	_, err := client.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(id)})
	if err == nil || isNotFound(err) {
		return nil
	}
	return fmt.Errorf("deleting security group %s: %w", id, err)
}
