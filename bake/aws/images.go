package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// describeImage returns the image, or nil when EC2 does not know it (yet,
// or any more).
func describeImage(ctx context.Context, client *ec2.Client, id string) (*types.Image, error) {
	out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}, IncludeDeprecated: awssdk.Bool(true)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing image %s: %w", id, err)
	}
	for i := range out.Images {
		if awssdk.ToString(out.Images[i].ImageId) == id {
			return &out.Images[i], nil
		}
	}
	return nil, nil
}

// waitForImage waits until the image is available; an image that fails
// is an error naming it and why.
func waitForImage(ctx context.Context, client *ec2.Client, id, region string, poll, timeout time.Duration) (*types.Image, error) {
	var img *types.Image
	what := fmt.Sprintf("waiting for image %s to be available in %s", id, region)
	err := waitFor(ctx, poll, timeout, what, func(ctx context.Context) (bool, error) {
		var err error
		img, err = describeImage(ctx, client, id)
		if err != nil || img == nil {
			return false, err
		}
		switch img.State {
		case types.ImageStateAvailable:
			return true, nil
		case types.ImageStatePending:
			return false, nil
		}
		return false, fmt.Errorf("image %s (%s) in %s is %s%s", id, awssdk.ToString(img.Name), region, img.State, because(img.StateReason))
	})
	return img, err
}

func creationTime(img types.Image) time.Time {
	t, _ := time.Parse(time.RFC3339, awssdk.ToString(img.CreationDate))
	return t
}

// snapshotsOf lists the EBS snapshots an image is made of.
func snapshotsOf(img *types.Image) []string {
	var ids []string
	for _, m := range img.BlockDeviceMappings {
		if m.Ebs != nil && awssdk.ToString(m.Ebs.SnapshotId) != "" {
			ids = append(ids, awssdk.ToString(m.Ebs.SnapshotId))
		}
	}
	return ids
}

// discardImage deregisters an image that is not to be kept and deletes
// its snapshots, with those that carry the given tags (a snapshot may not
// be in the image's block device mappings yet while it is pending).
func discardImage(ctx context.Context, client *ec2.Client, id string, snapshotTags map[string]string, poll time.Duration) error {
	var snapshots []string
	if id != "" {
		img, err := describeImage(ctx, client, id)
		if err != nil {
			return err
		}
		if img != nil {
			snapshots = snapshotsOf(img)
		}
		_, err = client.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: awssdk.String(id)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("deregistering image %s: %w", id, err)
		}
	}
	if len(snapshotTags) > 0 {
		found, err := findSnapshots(ctx, client, tagFilters(snapshotTags))
		if err != nil {
			return err
		}
		for _, sn := range found {
			snapshots = appendNew(snapshots, awssdk.ToString(sn.SnapshotId))
		}
	}
	var errs []error
	for _, sn := range snapshots {
		if err := deleteSnapshot(ctx, client, sn, poll); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteSnapshot deletes a snapshot, waiting while a just-deregistered
// image still holds it or it is still being made.
func deleteSnapshot(ctx context.Context, client *ec2.Client, id string, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, snapshotDeleteTimeout)
	defer cancel()
	for {
		_, err := client.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: awssdk.String(id)})
		switch {
		case err == nil || isNotFound(err):
			return nil
		case errorCode(err) != "InvalidSnapshot.InUse" && errorCode(err) != "IncorrectState":
			return fmt.Errorf("deleting snapshot %s: %w", id, err)
		}
		if werr := sleep(ctx, poll); werr != nil {
			return fmt.Errorf("snapshot %s is left: %w", id, errors.Join(err, werr))
		}
	}
}

// snapshotDeleteTimeout bounds the wait for a snapshot to be let go of by
// the image deregistered before it.
const snapshotDeleteTimeout = 5 * time.Minute

// findSnapshots lists this account's snapshots that match filters.
func findSnapshots(ctx context.Context, client *ec2.Client, filters []types.Filter) ([]types.Snapshot, error) {
	snaps, err := describeAll(ctx, ec2.NewDescribeSnapshotsPaginator(client, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: filters}),
		func(o *ec2.DescribeSnapshotsOutput) []types.Snapshot { return o.Snapshots })
	if err != nil {
		return nil, fmt.Errorf("looking up snapshots: %w", err)
	}
	return snaps, nil
}

// findImages lists this account's images that match filters.
func findImages(ctx context.Context, client *ec2.Client, filters []types.Filter) ([]types.Image, error) {
	images, err := describeAll(ctx, ec2.NewDescribeImagesPaginator(client, &ec2.DescribeImagesInput{
		Owners: []string{"self"}, Filters: filters, IncludeDeprecated: awssdk.Bool(true),
	}), imagesOf)
	if err != nil {
		return nil, fmt.Errorf("looking up images: %w", err)
	}
	return images, nil
}

func imagesOf(o *ec2.DescribeImagesOutput) []types.Image { return o.Images }

// tagImage tags an image and its snapshots, and removes the tags in
// untag from them.
func tagImage(ctx context.Context, client *ec2.Client, img *types.Image, tags map[string]string, untag ...string) error {
	ids := append([]string{awssdk.ToString(img.ImageId)}, snapshotsOf(img)...)
	if len(tags) > 0 {
		_, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: toTags(tags)})
		if err != nil {
			return fmt.Errorf("tagging image %s and its snapshots: %w", ids[0], err)
		}
	}
	if len(untag) > 0 {
		var del []types.Tag
		for _, k := range untag {
			del = append(del, types.Tag{Key: awssdk.String(k)})
		}
		_, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: ids, Tags: del})
		if err != nil {
			return fmt.Errorf("untagging image %s and its snapshots: %w", ids[0], err)
		}
	}
	return nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// claimImage waits for the image of that name, which another run makes of
// the same key (an image's name is its label's and key's: see
// imageName), and returns its id once this run may take it as its own:
// finished by its run, or left by a run that died (its heartbeat stale),
// which this run then finishes, tagging it with tags. It returns "" when
// the image went away, so that it can be made again.
//
// A dead run's image that is available but still temporary was not kept:
// with adopt it is finished and taken (a copy, which is done once it is
// available); without it is removed and made again (a bake's image,
// which its run may have died before it was tested or given its AMI
// attributes).
func claimImage(ctx context.Context, client *ec2.Client, name, key, what string, tags map[string]string, adopt bool, poll, timeout time.Duration) (string, error) {
	var id string
	err := waitFor(ctx, poll, timeout, what, func(ctx context.Context) (bool, error) {
		images, err := findImages(ctx, client, []types.Filter{filter("name", name)})
		if err != nil || len(images) == 0 {
			return len(images) == 0 && err == nil, err // gone: make it again
		}
		img := &images[0]
		if k := tagValue(img.Tags, bake.TagKey); k != key {
			return false, fmt.Errorf("image name %s is taken by %s, an image of key %s", name, awssdk.ToString(img.ImageId), bake.ShortKey(k))
		}
		temporary := tagValue(img.Tags, bake.TagTemporary) != ""
		dead := temporary && time.Since(lastBeat(img.Tags)) > HeartbeatStale
		switch {
		case img.State == types.ImageStateAvailable && !temporary:
			id = awssdk.ToString(img.ImageId)
			return true, nil
		case img.State == types.ImageStateAvailable && dead && adopt:
			// Its run died before finishing it: finish it.
			if err := tagImage(ctx, client, img, tags, bake.TagTemporary, bake.TagCreated, TagHeartbeat); err != nil {
				return false, err
			}
			id = awssdk.ToString(img.ImageId)
			return true, nil
		case img.State != types.ImageStatePending && dead:
			// A dead run's failed image: remove it, then make it again.
			return true, discardImage(ctx, client, awssdk.ToString(img.ImageId), nil, poll)
		}
		return false, nil // still being made, or its live run's to clean up
	})
	return id, err
}

// imageOfName is the image EC2 says has a name, looked up until EC2 shows
// it (it may not at once).
func imageOfName(ctx context.Context, client *ec2.Client, name string, poll, timeout time.Duration) (*types.Image, error) {
	var img *types.Image
	what := fmt.Sprintf("looking up image %s, which EC2 says exists", name)
	err := waitFor(ctx, poll, timeout, what, func(ctx context.Context) (bool, error) {
		images, err := findImages(ctx, client, []types.Filter{filter("name", name)})
		if err != nil || len(images) == 0 {
			return false, err
		}
		img = &images[0]
		return true, nil
	})
	return img, err
}
