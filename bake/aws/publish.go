package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// Publish applies an image's distribution in job.Region: its tags (on the
// image and its snapshots), its launch permissions (share_with: added,
// and those no longer wanted removed), its SSM parameter, a new default
// version of each of its launch templates, and (deprecate_after) the
// deprecation of the images of its label it supersedes.
func (b *Baker) Publish(ctx context.Context, job *bake.PublishJob) (err error) {
	defer func() {
		if err != nil {
			what := job.ID
			if job.Image != nil {
				what = job.Image.Label.String() + " (" + job.ID + ")"
			}
			err = fmt.Errorf("aws: publish %s in %s: %w", what, job.Region, err)
		}
	}()
	c, err := b.clientsFor(job.Region)
	if err != nil {
		return err
	}
	shareWith, parameter := job.Distribution.ShareWith, job.Distribution.PublishSSM
	want, err := parseShareWith(shareWith)
	if err != nil {
		return err
	}
	img, err := describeImage(ctx, c.ec2, job.ID)
	if err != nil {
		return err
	}
	if img == nil {
		return fmt.Errorf("image %s does not exist", job.ID)
	}
	if err := tagImage(ctx, c.ec2, img, job.Tags); err != nil {
		return err
	}
	attr, err := c.ec2.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: awssdk.String(job.ID), Attribute: types.ImageAttributeNameLaunchPermission,
	})
	if err != nil {
		return fmt.Errorf("reading the launch permissions of %s: %w", job.ID, err)
	}
	add, remove := launchPermissionChanges(attr.LaunchPermissions, want)
	if len(add) > 0 || len(remove) > 0 {
		_, err := c.ec2.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
			ImageId:          awssdk.String(job.ID),
			LaunchPermission: &types.LaunchPermissionModifications{Add: add, Remove: remove},
		})
		if err != nil {
			return fmt.Errorf("sharing %s: %w", job.ID, err)
		}
	}
	if parameter != "" {
		_, err := c.ssm.PutParameter(ctx, &ssm.PutParameterInput{
			Name:      awssdk.String(parameter),
			Value:     awssdk.String(job.ID),
			Type:      ssmtypes.ParameterTypeString,
			DataType:  awssdk.String("aws:ec2:image"),
			Overwrite: awssdk.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("writing SSM parameter %s: %w", parameter, err)
		}
	}
	label, key := job.Tags[bake.TagLabel], job.Tags[bake.TagKey]
	if err := publishLaunchTemplates(ctx, c.ec2, job.Region, job.ID, label, job.Distribution.LaunchTemplates); err != nil {
		return err
	}
	if err := keepPublished(ctx, c.ec2, img); err != nil {
		return err
	}
	if after := job.Distribution.DeprecateAfter; after > 0 && label != "" && key != "" {
		if err := deprecateSuperseded(ctx, c.ec2, b.opts.clock.Now(), label, key, after); err != nil {
			return err
		}
	}
	return nil
}

// parseShareWith turns share_with entries into launch permissions: a
// 12-digit account id, an organization ARN or an organizational unit ARN.
func parseShareWith(entries []string) ([]types.LaunchPermission, error) {
	var perms []types.LaunchPermission
	for _, e := range entries {
		switch {
		case rules.AccountRE.MatchString(e):
			perms = append(perms, types.LaunchPermission{UserId: awssdk.String(e)})
		case rules.OrgARNRE.MatchString(e):
			perms = append(perms, types.LaunchPermission{OrganizationArn: awssdk.String(e)})
		case rules.OUARNRE.MatchString(e):
			perms = append(perms, types.LaunchPermission{OrganizationalUnitArn: awssdk.String(e)})
		default:
			return nil, fmt.Errorf("share_with: %q is neither a 12-digit account id, an organization ARN "+
				"(arn:aws:organizations::123456789012:organization/o-…) nor an organizational unit ARN (…:ou/o-…/ou-…)", e)
		}
	}
	return perms, nil
}

// permissionKey names a launch permission for comparison; "" for a group
// (public), which share_with never names and Publish leaves alone.
func permissionKey(p types.LaunchPermission) string {
	switch {
	case p.UserId != nil:
		return "user:" + *p.UserId
	case p.OrganizationArn != nil:
		return "org:" + *p.OrganizationArn
	case p.OrganizationalUnitArn != nil:
		return "ou:" + *p.OrganizationalUnitArn
	}
	return ""
}

// launchPermissionChanges is what to add and remove to go from have to
// want.
func launchPermissionChanges(have, want []types.LaunchPermission) (add, remove []types.LaunchPermission) {
	haveKeys := map[string]bool{}
	for _, p := range have {
		haveKeys[permissionKey(p)] = true
	}
	wantKeys := map[string]bool{}
	for _, p := range want {
		k := permissionKey(p)
		wantKeys[k] = true
		if !haveKeys[k] {
			add = append(add, p)
		}
	}
	for _, p := range have {
		if k := permissionKey(p); k != "" && !wantKeys[k] {
			remove = append(remove, types.LaunchPermission{UserId: p.UserId, OrganizationArn: p.OrganizationArn, OrganizationalUnitArn: p.OrganizationalUnitArn})
		}
	}
	return add, remove
}
