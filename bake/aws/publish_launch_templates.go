package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// publishLaunchTemplates gives each launch template named a new default
// version that launches image, based on its current default version with
// only the image changed. A template whose default version launches the
// image already is left as it is.
func publishLaunchTemplates(ctx context.Context, client *ec2.Client, region, image, label string, names []string) error {
	for _, name := range names {
		if err := pointLaunchTemplate(ctx, client, region, image, label, name); err != nil {
			return err
		}
	}
	return nil
}

func pointLaunchTemplate(ctx context.Context, client *ec2.Client, region, image, label, name string) error {
	out, err := client.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateName: awssdk.String(name), Versions: []string{"$Default"},
	})
	switch {
	case errorCode(err) == "InvalidLaunchTemplateName.NotFoundException":
		return fmt.Errorf("launch template %q does not exist in %s: create it there, or take it out of launch_templates", name, region)
	case err != nil:
		return fmt.Errorf("reading launch template %q: %w", name, err)
	case len(out.LaunchTemplateVersions) != 1:
		return fmt.Errorf("launch template %q: EC2 gave %d default versions", name, len(out.LaunchTemplateVersions))
	}
	def := out.LaunchTemplateVersions[0]
	if def.LaunchTemplateData != nil && awssdk.ToString(def.LaunchTemplateData.ImageId) == image {
		return nil
	}
	id, source := awssdk.ToString(def.LaunchTemplateId), strconv.FormatInt(awssdk.ToInt64(def.VersionNumber), 10)
	created, err := client.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   awssdk.String(id),
		SourceVersion:      awssdk.String(source),
		VersionDescription: awssdk.String(fmt.Sprintf("%s (%s), from version %s", label, image, source)),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: awssdk.String(image)},
		// A publish run again after it made the version, but before it
		// made it the default, is answered with the same version.
		ClientToken: awssdk.String(versionToken(id, source, image)),
	})
	if err != nil {
		return fmt.Errorf("adding a version of launch template %q: %w", name, err)
	}
	version := strconv.FormatInt(awssdk.ToInt64(created.LaunchTemplateVersion.VersionNumber), 10)
	_, err = client.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{
		LaunchTemplateId: awssdk.String(id), DefaultVersion: awssdk.String(version),
	})
	if err != nil {
		return fmt.Errorf("making version %s the default of launch template %q: %w", version, name, err)
	}
	return nil
}

// versionToken is the client token of the version of template that
// replaces version source's image with image.
func versionToken(template, source, image string) string {
	sum := sha256.Sum256([]byte(template + "\x00" + source + "\x00" + image))
	return "imgraph-" + hex.EncodeToString(sum[:16])
}
