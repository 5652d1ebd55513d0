package aws

import (
	"context"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// stepImageAttributes gives the new image the AMI attributes it asks for.
// CreateImage makes an image with its instance's boot mode, NitroTPM and
// ENA (its source's); EC2 changes them only when an image is registered:
// the image is registered again from its own snapshots, under its name,
// with the attributes asked for. ImdsSupport v2.0 is set by
// ModifyImageAttribute (or with that registration). The image and its
// snapshots stay temporary until stepKeepImage; what this step leaves
// half-done goes with stepCreateImage's cleanup.
type stepImageAttributes struct{}

func (*stepImageAttributes) Name() string { return "image attributes" }

func (*stepImageAttributes) Run(ctx context.Context, s *bakeState) error {
	if s.imageDone || s.image == nil {
		return nil // another run's image, made by that run
	}
	a := s.attrs
	if wantsRegistration(a, s.image) {
		if err := s.registerAgain(ctx); err != nil {
			return err
		}
	}
	if !a.IMDSv1Allowed && s.image.ImdsSupport != types.ImdsSupportValuesV20 {
		_, err := s.ec2.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
			ImageId: awssdk.String(s.imageID), ImdsSupport: &types.AttributeValue{Value: awssdk.String(rules.IMDSv2)},
		})
		if err != nil {
			return fmt.Errorf("requiring IMDSv2 of image %s: %w", s.imageID, err)
		}
		s.image.ImdsSupport = types.ImdsSupportValuesV20
		fmt.Fprintf(s.log, "==> image %s requires IMDSv2\n", s.imageID)
	}
	return nil
}

func (*stepImageAttributes) Cleanup(ctx context.Context, s *bakeState) error { return nil }

// wantsRegistration says whether img lacks an attribute a asks for that
// only a registration sets: a boot mode, NitroTPM or ENA of its own, or
// IMDSv1 allowed again (imds_support = "") on an image that inherited
// IMDSv2 from its source, which nothing but a registration undoes.
func wantsRegistration(a rules.AWSAttrs, img *types.Image) bool {
	return a.BootMode != "" && string(img.BootMode) != a.BootMode ||
		a.TPMSupport != "" && string(img.TpmSupport) != a.TPMSupport ||
		a.ENASupport != nil && awssdk.ToBool(img.EnaSupport) != *a.ENASupport ||
		a.IMDSv1Allowed && img.ImdsSupport == types.ImdsSupportValuesV20
}

// registerAgain deregisters the image CreateImage made, keeping its
// snapshots (tagged temporary, so a failure from here on deletes them
// with stepCreateImage's cleanup), and registers them under the same
// name with the attributes asked for.
func (s *bakeState) registerAgain(ctx context.Context) error {
	s.phase("register image")
	old, a := s.image, s.attrs
	in := &ec2.RegisterImageInput{
		Name:           awssdk.String(s.imageName),
		Description:    old.Description,
		Architecture:   old.Architecture,
		RootDeviceName: old.RootDeviceName,
		BootMode:       old.BootMode,
		TpmSupport:     old.TpmSupport,
		EnaSupport:     old.EnaSupport,
	}
	if a.BootMode != "" {
		in.BootMode = types.BootModeValues(a.BootMode)
	}
	if a.TPMSupport != "" {
		in.TpmSupport = types.TpmSupportValues(a.TPMSupport)
	}
	if a.ENASupport != nil {
		in.EnaSupport = awssdk.Bool(*a.ENASupport)
	}
	if !a.IMDSv1Allowed {
		in.ImdsSupport = types.ImdsSupportValuesV20
	}
	for _, m := range old.BlockDeviceMappings {
		if m.Ebs == nil {
			continue
		}
		in.BlockDeviceMappings = append(in.BlockDeviceMappings, types.BlockDeviceMapping{DeviceName: m.DeviceName, Ebs: &types.EbsBlockDevice{
			SnapshotId: m.Ebs.SnapshotId, VolumeSize: m.Ebs.VolumeSize, VolumeType: m.Ebs.VolumeType,
			Iops: m.Ebs.Iops, Throughput: m.Ebs.Throughput, DeleteOnTermination: m.Ebs.DeleteOnTermination,
		}})
	}
	tags := s.imageTags()
	tags[bake.TagTemporary] = "true"
	tags[bake.TagCreated] = s.created.Format(time.RFC3339)
	tags[TagHeartbeat] = time.Now().UTC().Format(time.RFC3339)
	in.TagSpecifications = tagSpecs(toTags(tags), types.ResourceTypeImage)

	if _, err := s.ec2.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: awssdk.String(s.imageID)}); err != nil {
		return fmt.Errorf("deregistering image %s to register it again: %w", s.imageID, err)
	}
	fmt.Fprintf(s.log, "==> image %s deregistered, its snapshots kept, to register them again\n", s.imageID)
	s.imageBeat()
	s.imageID, s.image = "", nil
	cctx, unknown := watchAnswers(ctx)
	out, err := s.ec2.RegisterImage(cctx, in)
	if errorCode(err) == "InvalidAMIName.Duplicate" {
		// RegisterImage takes no token: an attempt whose answer was lost
		// may have registered it, and its retry finds the name taken. If
		// the image of that name is this run's, it is this bake's.
		img, lerr := imageOfName(ctx, s.ec2, s.imageName, s.b.opts.PollInterval, s.b.waitTimeout(instanceWaitTimeout))
		if lerr == nil && tagValue(img.Tags, bake.TagRun) == s.job.RunID {
			out, err = &ec2.RegisterImageOutput{ImageId: img.ImageId}, nil
		}
	}
	if err != nil {
		// Lost: the image may exist, and is looked for by its name once
		// the instance is gone; otherwise the snapshots go by their tags.
		s.imageLost = unknown(err)
		return fmt.Errorf("registering image %s again: %w", s.imageName, err)
	}
	s.imageID = awssdk.ToString(out.ImageId)
	s.imageBeat = s.beating(s.imageID)
	img, err := waitForImage(ctx, s.ec2, s.imageID, s.region, s.b.opts.PollInterval, s.b.waitTimeout(imageWaitTimeout))
	if err != nil {
		return err
	}
	s.image = img
	fmt.Fprintf(s.log, "==> image %s registered (boot mode %q, TPM %q, ENA %v)\n",
		s.imageID, img.BootMode, img.TpmSupport, awssdk.ToBool(img.EnaSupport))
	return nil
}
