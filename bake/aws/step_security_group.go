package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// stepSecurityGroup makes a temporary security group in the subnet's VPC
// (or the default VPC) with no ingress yet: stepAuthorizeSSH opens the SSH
// port to the caller once the instance's address is known.
type stepSecurityGroup struct{}

func (*stepSecurityGroup) Name() string { return "security group" }

func (*stepSecurityGroup) Run(ctx context.Context, s *bakeState) error {
	if s.ownGroups() {
		return nil // the image's own groups: none is made
	}
	s.phase("security group")
	vpc := s.net.vpc
	s.groupName = resourceName(s, "sg")
	s.groupCreate = &ec2.CreateSecurityGroupInput{
		GroupName:         awssdk.String(s.groupName),
		Description:       awssdk.String("imgraph: temporary group of the bake of " + s.label + ", run " + s.job.RunID),
		VpcId:             awssdk.String(vpc),
		TagSpecifications: tagSpecs(s.tempTags(), types.ResourceTypeSecurityGroup),
	}
	cctx, unknown := watchAnswers(ctx)
	id, err := s.createGroup(cctx)
	if err != nil {
		s.groupLost = unknown(err)
		return fmt.Errorf("creating security group %s in %s: %w", s.groupName, vpc, err)
	}
	s.groupID = id
	s.beating(id)
	return nil
}

// createGroup calls CreateSecurityGroup and returns the group's id. An
// earlier attempt whose answer was lost may have made it: the name is
// this bake's alone, so a group of that name is this bake's group.
func (s *bakeState) createGroup(ctx context.Context) (string, error) {
	out, err := s.ec2.CreateSecurityGroup(ctx, s.groupCreate)
	if errorCode(err) != "InvalidGroup.Duplicate" {
		if err != nil {
			return "", err
		}
		return awssdk.ToString(out.GroupId), nil
	}
	var id string
	what := fmt.Sprintf("looking up security group %s, which EC2 says exists", s.groupName)
	err = waitFor(ctx, s.b.opts.PollInterval, s.b.waitTimeout(instanceWaitTimeout), what, func(ctx context.Context) (bool, error) {
		var err error
		id, err = findGroup(ctx, s.ec2, s.groupName)
		return id != "", err
	})
	return id, err
}

// vpcOf is the VPC of subnet, or the region's default VPC.
func vpcOf(ctx context.Context, client *ec2.Client, subnet, region string) (string, error) {
	if subnet != "" {
		out, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{subnet}})
		if err != nil {
			return "", fmt.Errorf("looking up subnet %s: %w", subnet, err)
		}
		if len(out.Subnets) == 0 {
			return "", fmt.Errorf("subnet %s does not exist in %s", subnet, region)
		}
		return awssdk.ToString(out.Subnets[0].VpcId), nil
	}
	out, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{filter("is-default", "true")}})
	if err != nil {
		return "", fmt.Errorf("looking up the default VPC: %w", err)
	}
	if len(out.Vpcs) == 0 {
		return "", fmt.Errorf("%s has no default VPC: give the image a subnet (subnet = \"subnet-…\")", region)
	}
	return awssdk.ToString(out.Vpcs[0].VpcId), nil
}

func (*stepSecurityGroup) Cleanup(ctx context.Context, s *bakeState) error {
	if s.abort.left {
		return nil // left with its instance (--on-error=abort)
	}
	if s.groupID == "" && s.groupLost {
		// CreateSecurityGroup may have made it without our hearing back:
		// the same call answers with it, or that the name is taken.
		id, err := s.createGroup(ctx)
		if err != nil && errorCode(err) == "" {
			return fmt.Errorf("security group %s may be left: %w", s.groupName, err)
		}
		s.groupID = id
	}
	if s.groupID == "" {
		return nil
	}
	if s.instanceLeft {
		// Its instance is still there: waiting for the group to be let go
		// would wait for what cannot happen.
		err := deleteSecurityGroupOnce(ctx, s.ec2, s.groupID)
		if errorCode(err) == "DependencyViolation" {
			return fmt.Errorf("security group %s is left: the instance %s that uses it could not be terminated", s.groupID, s.instanceID)
		}
		return err
	}
	return deleteSecurityGroup(ctx, s.ec2, s.groupID, s.b.opts.PollInterval)
}
