package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// stepSweepImage makes nothing. Its cleanup, the bake's last, removes the
// image a CreateImage whose answer never came made: looked for only once
// the instance is gone, since until then the call may still be making it
// (CreateImage takes no idempotency token that a second call could
// settle it with).
type stepSweepImage struct{}

func (*stepSweepImage) Name() string { return "create image" }

func (*stepSweepImage) Run(ctx context.Context, s *bakeState) error { return nil }

// sweepLooks is how many looks, a poll apart, settle that EC2 shows no
// image of the name: what it made shows within them.
const sweepLooks = 10

func (*stepSweepImage) Cleanup(ctx context.Context, s *bakeState) error {
	if !s.imageSweep {
		return nil
	}
	if s.instanceLeft {
		return fmt.Errorf("image %s may be made yet: its instance %s is still there", s.imageName, s.instanceID)
	}
	for look := 0; look < sweepLooks; look++ {
		images, err := findImages(ctx, s.ec2, []types.Filter{filter("name", s.imageName)})
		if err != nil {
			return fmt.Errorf("image %s may be left: %w", s.imageName, err)
		}
		for _, img := range images {
			if tagValue(img.Tags, bake.TagRun) == s.job.RunID {
				s.imageID = awssdk.ToString(img.ImageId)
				return s.discardImage(ctx)
			}
		}
		if len(images) > 0 {
			break // another run's image of the key: not this bake's to remove
		}
		if err := sleep(ctx, s.b.opts.PollInterval); err != nil {
			return fmt.Errorf("image %s may be left: %w", s.imageName, err)
		}
	}
	// No image: the snapshots of one that was being made, if any.
	return s.discardImage(ctx)
}
