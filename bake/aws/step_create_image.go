package aws

import (
	"context"
	"fmt"
	"maps"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// stepCreateImage makes the image from the stopped instance and waits
// until it is available. Until then the image and its snapshots also
// carry the temporary tags, so that a killed bake's partial image is found
// by Cleanup; a failed or cancelled one is deregistered with its
// snapshots by this step's cleanup.
type stepCreateImage struct{}

func (*stepCreateImage) Name() string { return "create image" }

func (*stepCreateImage) Run(ctx context.Context, s *bakeState) error {
	s.phase("create image")
	im := s.job.Image
	s.imageName = imageName(im.Label, s.job.Key, s.created)
	desc := im.Description
	if desc == "" {
		desc = "imgraph " + s.label
	}
	if len(desc) > 255 {
		desc = desc[:255]
	}
	tags := s.imageTags()
	tags[bake.TagTemporary] = "true"
	tags[bake.TagCreated] = s.created.Format(time.RFC3339)
	s.imageStarted = true
	out, err := s.ec2.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId:        awssdk.String(s.instanceID),
		Name:              awssdk.String(s.imageName),
		Description:       awssdk.String(desc),
		TagSpecifications: tagSpecs(toTags(tags), types.ResourceTypeImage, types.ResourceTypeSnapshot),
	})
	switch {
	case errorCode(err) == "InvalidAMIName.Duplicate":
		// An attempt whose answer was lost made it: the name is ours alone.
		images, ferr := findImages(ctx, s.ec2, []types.Filter{filter("name", s.imageName)})
		if ferr != nil || len(images) != 1 || tagValue(images[0].Tags, bake.TagRun) != s.job.RunID {
			return fmt.Errorf("creating image %s from %s: %w", s.imageName, s.instanceID, err)
		}
		s.imageID = awssdk.ToString(images[0].ImageId)
	case err != nil:
		return fmt.Errorf("creating image %s from %s: %w", s.imageName, s.instanceID, err)
	default:
		s.imageID = awssdk.ToString(out.ImageId)
	}
	fmt.Fprintf(s.log, "==> creating image %s (%s)\n", s.imageID, s.imageName)
	img, err := waitForImage(ctx, s.ec2, s.imageID, s.region, s.b.opts.PollInterval, s.b.waitTimeout(imageWaitTimeout))
	if err != nil {
		return err
	}
	if err := tagImage(ctx, s.ec2, img, nil, bake.TagTemporary, bake.TagCreated); err != nil {
		return err
	}
	s.imageDone = true
	fmt.Fprintf(s.log, "==> image %s is available\n", s.imageID)
	return nil
}

// imageTags are the tags of the image: the job's, and the run's id.
func (s *bakeState) imageTags() map[string]string {
	tags := maps.Clone(s.job.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[bake.TagRun] = s.job.RunID
	return tags
}

func (*stepCreateImage) Cleanup(ctx context.Context, s *bakeState) error {
	if !s.imageStarted || s.imageDone {
		return nil
	}
	if s.imageID == "" {
		// CreateImage may have made it without our hearing back.
		images, err := findImages(ctx, s.ec2, []types.Filter{filter("name", s.imageName)})
		if err != nil {
			return err
		}
		for _, img := range images {
			s.imageID = awssdk.ToString(img.ImageId)
		}
	}
	return discardImage(ctx, s.ec2, s.imageID, map[string]string{
		bake.TagRun: s.job.RunID, bake.TagKey: s.job.Key, bake.TagTemporary: "true",
	}, s.b.opts.PollInterval)
}
