package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// pickSubnet is the subnet that matches filters (DescribeSubnets' filters,
// "tag:Tier" and the like) with the most free addresses, as Packer's
// subnet_filter with most_free picks it; a tie goes to the first id.
func pickSubnet(ctx context.Context, client *ec2.Client, filters map[string]string, region string) (types.Subnet, error) {
	var fs []types.Filter
	for _, name := range slices.Sorted(maps.Keys(filters)) {
		fs = append(fs, filter(name, filters[name]))
	}
	subnets, err := describeAll(ctx, ec2.NewDescribeSubnetsPaginator(client, &ec2.DescribeSubnetsInput{Filters: fs}),
		func(o *ec2.DescribeSubnetsOutput) []types.Subnet { return o.Subnets })
	if err != nil {
		return types.Subnet{}, fmt.Errorf("looking up the subnets of subnet_filter %s: %w", describeFilters(filters), err)
	}
	if len(subnets) == 0 {
		return types.Subnet{}, fmt.Errorf("no subnet in %s matches subnet_filter %s", region, describeFilters(filters))
	}
	return mostFree(subnets), nil
}

// mostFree is the subnet with the most free addresses; a tie goes to the
// first id, so the choice does not depend on the order EC2 lists them in.
func mostFree(subnets []types.Subnet) types.Subnet {
	return slices.MinFunc(subnets, func(a, b types.Subnet) int {
		if d := awssdk.ToInt32(b.AvailableIpAddressCount) - awssdk.ToInt32(a.AvailableIpAddressCount); d != 0 {
			return int(d)
		}
		return strings.Compare(awssdk.ToString(a.SubnetId), awssdk.ToString(b.SubnetId))
	})
}

func describeFilters(filters map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(filters)) {
		kv = append(kv, fmt.Sprintf("%q: %q", k, filters[k]))
	}
	return "{" + strings.Join(kv, ", ") + "}"
}

// securityGroupIDs are the ids of groups, each given by id or by name,
// in vpc; a group that does not exist there is an error that names it.
func securityGroupIDs(ctx context.Context, client *ec2.Client, groups []string, vpc string) ([]string, error) {
	var ids, names []string
	for _, g := range groups {
		if strings.HasPrefix(g, "sg-") {
			ids = append(ids, g)
		} else {
			names = append(names, g)
		}
	}
	found := map[string]string{} // id or name -> id
	if len(ids) > 0 {
		out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
		if err != nil {
			if errorCode(err) == "InvalidGroup.NotFound" || errorCode(err) == "InvalidGroupId.Malformed" {
				return nil, fmt.Errorf("security_groups: %w", err)
			}
			return nil, fmt.Errorf("looking up security groups %s: %w", strings.Join(ids, ", "), err)
		}
		for _, g := range out.SecurityGroups {
			if awssdk.ToString(g.VpcId) != vpc {
				return nil, fmt.Errorf("security_groups: %s is in %s, and the build instance runs in %s", awssdk.ToString(g.GroupId), awssdk.ToString(g.VpcId), vpc)
			}
			found[awssdk.ToString(g.GroupId)] = awssdk.ToString(g.GroupId)
		}
	}
	if len(names) > 0 {
		out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
			Filters: []types.Filter{filter("group-name", names...), filter("vpc-id", vpc)},
		})
		if err != nil {
			return nil, fmt.Errorf("looking up security groups %s: %w", strings.Join(names, ", "), err)
		}
		for _, g := range out.SecurityGroups {
			found[awssdk.ToString(g.GroupName)] = awssdk.ToString(g.GroupId)
		}
	}
	var out []string
	for _, g := range groups {
		id, ok := found[g]
		if !ok {
			return nil, fmt.Errorf("security_groups: no security group %q in %s", g, vpc)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}
