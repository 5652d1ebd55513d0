package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// stepCopyImage copies the source image to job.To, encrypted with the
// image's KMS key there, waits until the copy is available, and tags it
// and its snapshots. Until then they also carry the temporary tags, so
// that a killed copy's partial image is found by Cleanup; a failed or
// cancelled one is deregistered with its snapshots by this step's cleanup.
type stepCopyImage struct{}

// Name is "": the copy's own errors say what it was doing.
func (*stepCopyImage) Name() string { return "" }

func (*stepCopyImage) Run(ctx context.Context, s *copyState) error {
	job, attrs := s.job, s.job.Image.AWS
	now := time.Now().UTC().Format(time.RFC3339)
	inFlight := maps.Clone(s.tags)
	inFlight[bake.TagTemporary] = "true"
	inFlight[bake.TagCreated] = now
	inFlight[TagHeartbeat] = now
	in := &ec2.CopyImageInput{
		SourceImageId:     awssdk.String(job.ID),
		SourceRegion:      awssdk.String(job.From),
		Name:              s.source.Name,
		Description:       s.source.Description,
		Encrypted:         awssdk.Bool(attrs.Encrypted),
		ClientToken:       awssdk.String(job.RunID + "-" + randomHex(4)),
		TagSpecifications: tagSpecs(toTags(inFlight), types.ResourceTypeImage, types.ResourceTypeSnapshot),
	}
	if attrs.Encrypted && attrs.KMSKey != "" {
		key, err := attrs.KMSKeyIn(job.To)
		if err != nil {
			return err
		}
		in.KmsKeyId = awssdk.String(key)
	}
	s.started, s.call = true, in
	for attempt := 0; ; attempt++ {
		cctx, unknown := watchAnswers(ctx)
		out, err := s.to.CopyImage(cctx, in)
		s.lost = unknown(err)
		if errorCode(err) == "InvalidAMIName.Duplicate" && attempt < maxCopyAttempts {
			// Another run copies this very image here, or did and died:
			// its copy is this one, once it is done.
			what := fmt.Sprintf("waiting for the copy of %s that another run makes in %s", job.ID, job.To)
			id, err := claimImage(ctx, s.to, awssdk.ToString(s.source.Name), job.Key, what, s.tags, true, s.b.opts.PollInterval, s.b.waitTimeout(imageWaitTimeout))
			if err != nil {
				return err
			}
			if id == "" {
				continue // it went away: copy again
			}
			s.imageID, s.done = id, true
			return nil
		}
		if err != nil {
			return fmt.Errorf("copying image %s: %w", job.ID, err)
		}
		s.imageID = awssdk.ToString(out.ImageId)
		break
	}
	stopBeating := s.beating(s.imageID)
	img, err := waitForImage(ctx, s.to, s.imageID, job.To, s.b.opts.PollInterval, s.b.waitTimeout(imageWaitTimeout))
	if err != nil {
		return err
	}
	stopBeating() // before the tags go, or a late beat could put one back
	if err := tagImage(ctx, s.to, img, s.tags, bake.TagTemporary, bake.TagCreated, TagHeartbeat); err != nil {
		return err
	}
	s.done = true
	return nil
}

// maxCopyAttempts bounds how often a copy starts again after another
// run's copy of the same name went away.
const maxCopyAttempts = 3

func (*stepCopyImage) Cleanup(ctx context.Context, s *copyState) error {
	if !s.started || s.done {
		return nil
	}
	s.phase(bake.PhaseCleanup)
	if s.imageID == "" && s.lost {
		// CopyImage may have started the copy without our hearing back,
		// and EC2 may not show it yet: the same call with the same token
		// answers with its id (or starts it now, to go).
		out, err := s.to.CopyImage(ctx, s.call)
		switch {
		case err == nil:
			s.imageID = awssdk.ToString(out.ImageId)
		case errorCode(err) == "":
			return fmt.Errorf("a copy started with client token %s may be left: %w", awssdk.ToString(s.call.ClientToken), err)
		}
	}
	return discardCopy(ctx, s.to, s.imageID, s.job, s.b.opts.PollInterval)
}

// discardCopy removes a partial copy and its snapshots; with no id (the
// CopyImage call never answered), it finds them by their tags.
func discardCopy(ctx context.Context, client *ec2.Client, id string, job *bake.CopyJob, poll time.Duration) error {
	tags := map[string]string{bake.TagRun: job.RunID, bake.TagKey: job.Key, bake.TagTemporary: "true"}
	ids := []string{id}
	if id == "" {
		images, err := findImages(ctx, client, tagFilters(tags))
		if err != nil {
			return err
		}
		ids = nil
		for _, img := range images {
			ids = append(ids, awssdk.ToString(img.ImageId))
		}
		if len(ids) == 0 {
			ids = []string{""} // the snapshots alone
		}
	}
	var errs []error
	for _, id := range ids {
		if err := discardImage(ctx, client, id, tags, poll); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
