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
// until it is available. Until stepKeepImage keeps it, the image and its
// snapshots also carry the temporary tags, so that a killed bake's
// partial image is found by Cleanup; a failed or cancelled one (its tests
// failed, say) is deregistered with its snapshots by this step's cleanup.
type stepCreateImage struct{}

func (*stepCreateImage) Name() string { return "create image" }

func (*stepCreateImage) Run(ctx context.Context, s *bakeState) error {
	s.phase("create image")
	im := s.job.Image
	s.imageName = imageName(im.Label, s.job.Key)
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
	// The bake may have run for longer than HeartbeatStale: the image
	// beats from its making, or another run would take it for a dead
	// run's until the next beat.
	tags[TagHeartbeat] = time.Now().UTC().Format(time.RFC3339)
	s.imageStarted = true
	s.imageCreate = &ec2.CreateImageInput{
		InstanceId:        awssdk.String(s.instanceID),
		Name:              awssdk.String(s.imageName),
		Description:       awssdk.String(desc),
		TagSpecifications: tagSpecs(toTags(tags), types.ResourceTypeImage, types.ResourceTypeSnapshot),
	}
	for attempt := 0; ; attempt++ {
		cctx, unknown := watchAnswers(ctx)
		id, ours, err := s.createImage(cctx)
		if err != nil {
			s.imageLost = unknown(err)
			return fmt.Errorf("creating image %s from %s: %w", s.imageName, s.instanceID, err)
		}
		if ours {
			s.imageID = id
			break
		}
		// Another run makes this very image (its name is the key's): it
		// is this bake's once it is done.
		what := fmt.Sprintf("waiting for image %s, which another run makes", s.imageName)
		id, err = claimImage(ctx, s.ec2, s.imageName, s.job.Key, what, s.imageTags(), false, s.b.opts.PollInterval, s.b.waitTimeout(imageWaitTimeout))
		if err != nil {
			return err
		}
		if id != "" {
			fmt.Fprintf(s.log, "==> image %s (%s) was made by another run; taking it\n", id, s.imageName)
			s.imageID, s.imageDone = id, true
			return nil
		}
		if attempt == maxCopyAttempts {
			return fmt.Errorf("creating image %s: another run's image of that name came and went %d times", s.imageName, attempt+1)
		}
	}
	s.imageBeat = s.beating(s.imageID)
	fmt.Fprintf(s.log, "==> creating image %s (%s)\n", s.imageID, s.imageName)
	img, err := waitForImage(ctx, s.ec2, s.imageID, s.region, s.b.opts.PollInterval, s.b.waitTimeout(imageWaitTimeout))
	if err != nil {
		return err
	}
	s.image = img
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

// createImage calls CreateImage and returns the image's id, and whether
// this run made it. When the name is taken, the image of that name is
// this run's (an earlier attempt's answer was lost) or another run's.
func (s *bakeState) createImage(ctx context.Context) (id string, ours bool, err error) {
	out, err := s.ec2.CreateImage(ctx, s.imageCreate)
	if errorCode(err) == "InvalidAMIName.Duplicate" {
		img, err := imageOfName(ctx, s.ec2, s.imageName, s.b.opts.PollInterval, s.b.waitTimeout(instanceWaitTimeout))
		if err != nil {
			return "", false, err
		}
		return awssdk.ToString(img.ImageId), tagValue(img.Tags, bake.TagRun) == s.job.RunID, nil
	}
	if err != nil {
		return "", false, err
	}
	return awssdk.ToString(out.ImageId), true, nil
}

func (*stepCreateImage) Cleanup(ctx context.Context, s *bakeState) error {
	if !s.imageStarted || s.imageDone {
		return nil
	}
	if s.imageID == "" && s.imageLost {
		// CreateImage may have made it without our hearing back, or may
		// still be making it: it is looked for once the instance it
		// images is gone, when no call can make it any more.
		s.imageSweep = true
		return nil
	}
	return s.discardImage(ctx)
}

// discardImage deregisters the bake's image, if it knows one, and deletes
// its snapshots and those tagged as the bake's.
func (s *bakeState) discardImage(ctx context.Context) error {
	return discardImage(ctx, s.ec2, s.imageID, map[string]string{
		bake.TagRun: s.job.RunID, bake.TagKey: s.job.Key, bake.TagTemporary: "true",
	}, s.b.opts.PollInterval)
}
