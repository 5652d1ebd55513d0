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
	s.phase("security group")
	vpc, err := vpcOf(ctx, s.ec2, s.attrs.Subnet, s.region)
	if err != nil {
		return err
	}
	s.groupName = resourceName(s, "sg")
	out, err := s.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:         awssdk.String(s.groupName),
		Description:       awssdk.String("imgraph: temporary SSH access to the bake of " + s.label + ", run " + s.job.RunID),
		VpcId:             awssdk.String(vpc),
		TagSpecifications: tagSpecs(s.tempTags(), types.ResourceTypeSecurityGroup),
	})
	if errorCode(err) == "InvalidGroup.Duplicate" {
		// An attempt whose answer was lost made it; the name is ours alone.
		if s.groupID, err = findGroup(ctx, s.ec2, s.groupName); err == nil && s.groupID == "" {
			err = fmt.Errorf("security group %s exists and cannot be found", s.groupName)
		}
		if err != nil {
			return fmt.Errorf("creating security group %s in %s: %w", s.groupName, vpc, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating security group %s in %s: %w", s.groupName, vpc, err)
	}
	s.groupID = awssdk.ToString(out.GroupId)
	return nil
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
	if s.groupID == "" && s.groupName != "" {
		// CreateSecurityGroup may have made it without our hearing back.
		id, err := findGroup(ctx, s.ec2, s.groupName)
		if err != nil {
			return err
		}
		s.groupID = id
	}
	if s.groupID == "" {
		return nil
	}
	return deleteSecurityGroup(ctx, s.ec2, s.groupID, s.b.opts.PollInterval)
}
