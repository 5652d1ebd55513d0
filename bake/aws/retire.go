package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"golang.org/x/sync/errgroup"

	"github.com/imgraph/imgraph/bake"
)

var _ bake.Retirer = (*Baker)(nil)

// sharedParallelism bounds the DescribeImageAttribute calls in flight in
// one region while Baked looks at who may launch each image.
const sharedParallelism = 4

// Baked lists this account's AMIs tagged imgraph:key in regions, all
// regions at once, each with its snapshots, whether other accounts may
// launch it (its launch permissions, or public), and whether its run is
// alive: one of the run's temporary resources in the region beat less
// than HeartbeatStale ago.
func (b *Baker) Baked(ctx context.Context, regions []string) ([]bake.BakedImage, error) {
	var (
		mu  sync.Mutex
		out []bake.BakedImage
	)
	g, gctx := errgroup.WithContext(ctx)
	for _, region := range regions {
		g.Go(func() error {
			images, err := b.bakedIn(gctx, region)
			if err != nil {
				return fmt.Errorf("aws: listing the images imgraph baked in %s: %w", region, err)
			}
			mu.Lock()
			out = append(out, images...)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (b *Baker) bakedIn(ctx context.Context, region string) ([]bake.BakedImage, error) {
	client, err := b.ec2In(region)
	if err != nil {
		return nil, err
	}
	found, err := findImages(ctx, client, []types.Filter{filter("tag-key", bake.TagKey)})
	if err != nil {
		return nil, err
	}
	beats, err := runBeats(ctx, client)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	images := make([]bake.BakedImage, len(found))
	for i, img := range found {
		run := tagValue(img.Tags, bake.TagRun)
		beat, beating := beats[run]
		images[i] = bake.BakedImage{
			Label:     tagValue(img.Tags, bake.TagLabel),
			Key:       tagValue(img.Tags, bake.TagKey),
			Region:    region,
			ID:        awssdk.ToString(img.ImageId),
			Created:   creationTime(img),
			Snapshots: snapshotsOf(&img),
			Bytes:     snapshotBytes(&img),
			Shared:    awssdk.ToBool(img.Public),
			Temporary: tagValue(img.Tags, bake.TagTemporary) != "" || img.State != types.ImageStateAvailable,
			Run:       run,
			RunLive:   run != "" && beating && now.Sub(beat) < HeartbeatStale,
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(sharedParallelism)
	for i := range images {
		if images[i].Shared || images[i].Temporary {
			continue
		}
		g.Go(func() error {
			shared, err := launchableByOthers(gctx, client, images[i].ID)
			images[i].Shared = shared
			if isNotFound(err) {
				// Gone since it was listed: Retire finds it gone.
				return nil
			}
			return err
		})
	}
	return images, g.Wait()
}

// snapshotBytes is the size of the volumes an image's snapshots hold.
func snapshotBytes(img *types.Image) int64 {
	var n int64
	for _, m := range img.BlockDeviceMappings {
		if m.Ebs != nil && m.Ebs.SnapshotId != nil {
			n += int64(awssdk.ToInt32(m.Ebs.VolumeSize)) << 30
		}
	}
	return n
}

// launchableByOthers reports whether the image's launch permissions name
// anyone: an account, an organization or unit, or everyone.
func launchableByOthers(ctx context.Context, client *ec2.Client, id string) (bool, error) {
	attr, err := client.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: awssdk.String(id), Attribute: types.ImageAttributeNameLaunchPermission,
	})
	if err != nil {
		return false, fmt.Errorf("reading the launch permissions of %s: %w", id, err)
	}
	return len(attr.LaunchPermissions) > 0, nil
}

// runBeats is when each run last beat among the region's temporary
// resources a bake or copy keeps alive (see TagHeartbeat).
func runBeats(ctx context.Context, client *ec2.Client) (map[string]time.Time, error) {
	beats := map[string]time.Time{}
	beat := func(tags []types.Tag) {
		run := tagValue(tags, bake.TagRun)
		if t := lastBeat(tags); run != "" && t.After(beats[run]) {
			beats[run] = t
		}
	}
	reservations, err := describeAll(ctx, ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{temporary, notTerminated()}}), reservationsOf)
	if err != nil {
		return nil, fmt.Errorf("looking up instances: %w", err)
	}
	for _, res := range reservations {
		for _, in := range res.Instances {
			beat(in.Tags)
		}
	}
	images, err := findImages(ctx, client, []types.Filter{temporary})
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		beat(img.Tags)
	}
	snapshots, err := findSnapshots(ctx, client, []types.Filter{temporary})
	if err != nil {
		return nil, err
	}
	for _, sn := range snapshots {
		beat(sn.Tags)
	}
	keys, err := client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: []types.Filter{temporary}})
	if err != nil {
		return nil, fmt.Errorf("looking up key pairs: %w", err)
	}
	for _, k := range keys.KeyPairs {
		beat(k.Tags)
	}
	groups, err := describeAll(ctx, ec2.NewDescribeSecurityGroupsPaginator(client, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{temporary}}),
		func(o *ec2.DescribeSecurityGroupsOutput) []types.SecurityGroup { return o.SecurityGroups })
	if err != nil {
		return nil, fmt.Errorf("looking up security groups: %w", err)
	}
	for _, g := range groups {
		beat(g.Tags)
	}
	return beats, nil
}

// parametersPerCall is the most names one GetParameters call takes.
const parametersPerCall = 10

// Published reads the SSM parameters names in region, ten a call, and
// returns the image id each holds.
func (b *Baker) Published(ctx context.Context, region string, names []string) (map[string]string, error) {
	c, err := b.clientsFor(region)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for chunk := range slices.Chunk(names, parametersPerCall) {
		res, err := c.ssm.GetParameters(ctx, &ssm.GetParametersInput{Names: chunk})
		if err != nil {
			return nil, fmt.Errorf("aws: reading SSM parameters in %s: %w", region, err)
		}
		for _, p := range res.Parameters {
			out[awssdk.ToString(p.Name)] = awssdk.ToString(p.Value)
		}
	}
	return out, nil
}

// Retire deregisters an image and deletes its snapshots in one call
// (DeregisterImage with DeleteAssociatedSnapshots): EC2 leaves a snapshot
// another image uses. It describes the image again first: one gone is
// no error, and one that is no longer what gc decided on (another key's,
// temporary, shared since) is left with a *bake.StillWantedError.
func (b *Baker) Retire(ctx context.Context, img bake.BakedImage) (bake.Retired, error) {
	var done bake.Retired
	client, err := b.ec2In(img.Region)
	if err != nil {
		return done, err
	}
	now, err := describeImage(ctx, client, img.ID)
	if err != nil {
		return done, err
	}
	if now == nil {
		done.Gone = true
		return done, nil
	}
	switch {
	case tagValue(now.Tags, bake.TagKey) != img.Key:
		return done, &bake.StillWantedError{ID: img.ID, Reason: "its imgraph:key tag changed since it was listed"}
	case tagValue(now.Tags, bake.TagTemporary) != "":
		return done, &bake.StillWantedError{ID: img.ID, Reason: "it is temporary now"}
	}
	if !img.Shared {
		shared, err := launchableByOthers(ctx, client, img.ID)
		if err != nil {
			return done, err
		}
		if shared || awssdk.ToBool(now.Public) {
			return done, &bake.StillWantedError{ID: img.ID, Reason: "it was shared with other accounts since it was listed"}
		}
	}
	out, err := client.DeregisterImage(ctx, &ec2.DeregisterImageInput{
		ImageId: awssdk.String(img.ID), DeleteAssociatedSnapshots: awssdk.Bool(true),
	})
	if isNotFound(err) {
		done.Gone = true
		return done, nil
	}
	if err != nil {
		return done, fmt.Errorf("aws: deregistering image %s in %s: %w", img.ID, img.Region, err)
	}
	done.Gone = true
	sizes := map[string]int64{}
	for _, m := range now.BlockDeviceMappings {
		if m.Ebs != nil && m.Ebs.SnapshotId != nil {
			sizes[awssdk.ToString(m.Ebs.SnapshotId)] = int64(awssdk.ToInt32(m.Ebs.VolumeSize)) << 30
		}
	}
	var errs []error
	for _, r := range out.DeleteSnapshotResults {
		id := awssdk.ToString(r.SnapshotId)
		switch r.ReturnCode {
		case types.SnapshotReturnCodesSuccess:
			done.Snapshots = append(done.Snapshots, id)
			done.Freed += sizes[id]
		case types.SnapshotReturnCodesWarnSkipped:
			done.Kept = append(done.Kept, id) // another image uses it
		default:
			// Not deleted for a reason of EC2's: delete it as cleanup does,
			// unless an image uses it (then EC2 says so, and it stays).
			err := b.deleteUnused(ctx, client, id)
			switch {
			case errors.Is(err, errSnapshotUsed):
				done.Kept = append(done.Kept, id)
			case err != nil:
				errs = append(errs, fmt.Errorf("aws: image %s in %s is deregistered, but its snapshot %s is left (%s): %w",
					img.ID, img.Region, id, r.ReturnCode, err))
			default:
				done.Snapshots = append(done.Snapshots, id)
				done.Freed += sizes[id]
			}
		}
	}
	return done, errors.Join(errs...)
}

var errSnapshotUsed = errors.New("another image uses it")

// deleteUnused deletes a snapshot no registered image of this account
// uses.
func (b *Baker) deleteUnused(ctx context.Context, client *ec2.Client, id string) error {
	users, err := findImages(ctx, client, []types.Filter{filter("block-device-mapping.snapshot-id", id)})
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errSnapshotUsed
	}
	return deleteSnapshot(ctx, client, id, b.opts.PollInterval)
}
