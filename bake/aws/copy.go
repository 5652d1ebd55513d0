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

// Copy copies a baked image to job.To, encrypted with the image's KMS key
// there, and tags the copy and its snapshots. While the copy is in flight
// it carries the temporary tags; if the copy fails or is cancelled, the
// partial copy is deregistered and its snapshots deleted before Copy
// returns (packer#10248 leaked them).
func (b *Baker) Copy(ctx context.Context, job *bake.CopyJob) (id string, err error) {
	what := "copy"
	if job.Image != nil {
		what = "copy " + job.Image.Label.String()
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("aws: %s from %s to %s: %w", what, job.From, job.To, err)
		}
	}()
	if job.Image == nil {
		return "", errors.New("no image")
	}
	phase := job.Phase
	if phase == nil {
		phase = func(string) {}
	}
	phase(bake.PhaseCopy)
	from, err := b.ec2In(job.From)
	if err != nil {
		return "", err
	}
	to, err := b.ec2In(job.To)
	if err != nil {
		return "", err
	}
	src, err := describeImage(ctx, from, job.ID)
	if err != nil {
		return "", err
	}
	if src == nil {
		return "", fmt.Errorf("image %s does not exist in %s", job.ID, job.From)
	}
	tags := maps.Clone(job.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[bake.TagRun] = job.RunID
	inFlight := maps.Clone(tags)
	inFlight[bake.TagTemporary] = "true"
	inFlight[bake.TagCreated] = time.Now().UTC().Format(time.RFC3339)

	attrs := job.Image.AWS
	in := &ec2.CopyImageInput{
		SourceImageId:     awssdk.String(job.ID),
		SourceRegion:      awssdk.String(job.From),
		Name:              src.Name,
		Description:       src.Description,
		Encrypted:         awssdk.Bool(attrs.Encrypted),
		ClientToken:       awssdk.String(job.RunID + "-" + randomHex(4)),
		TagSpecifications: tagSpecs(toTags(inFlight), types.ResourceTypeImage, types.ResourceTypeSnapshot),
	}
	if attrs.Encrypted && attrs.KMSKey != "" {
		key, err := attrs.KMSKeyIn(job.To)
		if err != nil {
			return "", err
		}
		in.KmsKeyId = awssdk.String(key)
	}

	done := false
	defer func() {
		if done {
			return
		}
		phase(bake.PhaseCleanup)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := b.discardCopy(cctx, to, id, job); cerr != nil {
			err = errors.Join(err, &CleanupError{Errs: []error{cerr}})
		}
		id = ""
	}()
	out, err := to.CopyImage(ctx, in)
	if errorCode(err) == "InvalidAMIName.Duplicate" {
		// A copy of this very image may be there already, from a run that
		// died before recording it.
		if prev := b.previousCopy(ctx, to, awssdk.ToString(src.Name), job.Key); prev != nil {
			if err := tagImage(ctx, to, prev, tags, bake.TagTemporary, bake.TagCreated); err != nil {
				return "", err
			}
			done = true
			return awssdk.ToString(prev.ImageId), nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("copying image %s: %w", job.ID, err)
	}
	id = awssdk.ToString(out.ImageId)
	img, err := waitForImage(ctx, to, id, job.To, b.opts.PollInterval, b.waitTimeout(imageWaitTimeout))
	if err != nil {
		return "", err
	}
	if err := tagImage(ctx, to, img, tags, bake.TagTemporary, bake.TagCreated); err != nil {
		return "", err
	}
	done = true
	return id, nil
}

// discardCopy removes a partial copy and its snapshots; with no id (the
// CopyImage call never answered), it finds them by their tags.
func (b *Baker) discardCopy(ctx context.Context, client *ec2.Client, id string, job *bake.CopyJob) error {
	tags := map[string]string{bake.TagRun: job.RunID, bake.TagKey: job.Key, bake.TagTemporary: "true"}
	ids := []string{id}
	if id == "" {
		var filters []types.Filter
		for _, k := range sortedKeys(tags) {
			filters = append(filters, filter("tag:"+k, tags[k]))
		}
		images, err := findImages(ctx, client, filters)
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
		if err := discardImage(ctx, client, id, tags, b.opts.PollInterval); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// previousCopy is the available image of that name with the same key,
// or nil.
func (b *Baker) previousCopy(ctx context.Context, client *ec2.Client, name, key string) *types.Image {
	images, err := findImages(ctx, client, []types.Filter{filter("name", name)})
	if err != nil {
		return nil
	}
	for i := range images {
		if images[i].State == types.ImageStateAvailable && tagValue(images[i].Tags, bake.TagKey) == key {
			return &images[i]
		}
	}
	return nil
}
