package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// Removed is a temporary resource Cleanup removed (or, in a dry run,
// would remove).
type Removed struct {
	Region string
	Kind   string // instance, image, snapshot, volume, security-group, key-pair
	ID     string
	Run    string // the run that made it
}

// Kinds of Removed, in the order Cleanup removes them.
const (
	KindInstance      = "instance"
	KindImage         = "image"
	KindSnapshot      = "snapshot"
	KindVolume        = "volume"
	KindSecurityGroup = "security-group"
	KindKeyPair       = "key-pair"
)

var kindOrder = map[string]int{KindInstance: 0, KindImage: 1, KindSnapshot: 2, KindVolume: 3, KindSecurityGroup: 4, KindKeyPair: 5}

// Cleanup finds, in every region, the resources tagged
// imgraph:temporary=true whose run is not alive (alive may be nil: none
// is) and whose imgraph:created is older than olderThan, and removes
// them: instances first (and waits until they are gone), then partial
// images and their snapshots, stray volumes, security groups and key
// pairs. With dryRun it only lists them. It goes on after a failure, and
// returns what it removed with every failure joined.
func (b *Baker) Cleanup(ctx context.Context, regions []string, olderThan time.Duration, alive func(runID string) bool, dryRun bool) ([]Removed, error) {
	now := time.Now()
	var (
		mu      sync.Mutex
		removed []Removed
		errs    []error
		wg      sync.WaitGroup
	)
	for _, region := range regions {
		wg.Go(func() {
			r := &regionCleanup{b: b, region: region, olderThan: olderThan, alive: alive, dryRun: dryRun, now: now}
			err := r.run(ctx)
			mu.Lock()
			defer mu.Unlock()
			removed = append(removed, r.removed...)
			if err != nil {
				errs = append(errs, fmt.Errorf("aws: cleanup in %s: %w", region, err))
			}
		})
	}
	wg.Wait()
	sort.Slice(removed, func(i, j int) bool {
		a, c := removed[i], removed[j]
		if a.Region != c.Region {
			return a.Region < c.Region
		}
		if a.Kind != c.Kind {
			return kindOrder[a.Kind] < kindOrder[c.Kind]
		}
		return a.ID < c.ID
	})
	return removed, errors.Join(errs...)
}

// regionCleanup is Cleanup in one region.
type regionCleanup struct {
	b         *Baker
	region    string
	olderThan time.Duration
	alive     func(string) bool
	dryRun    bool
	now       time.Time
	client    *ec2.Client

	removed []Removed
	errs    []error
}

// stale reports whether a resource with tags (made at made, when its tag
// does not say) is a leftover to remove, and its run.
func (r *regionCleanup) stale(tags []types.Tag, made time.Time) (string, bool) {
	if tagValue(tags, bake.TagTemporary) != "true" {
		return "", false
	}
	run := tagValue(tags, bake.TagRun)
	if run != "" && r.alive != nil && r.alive(run) {
		return run, false
	}
	if t, err := time.Parse(time.RFC3339, tagValue(tags, bake.TagCreated)); err == nil {
		made = t
	}
	if !made.IsZero() && r.now.Sub(made) < r.olderThan {
		return run, false
	}
	return run, true
}

func (r *regionCleanup) fail(err error) { r.errs = append(r.errs, err) }

func (r *regionCleanup) found(kind, id, run string) {
	r.removed = append(r.removed, Removed{Region: r.region, Kind: kind, ID: id, Run: run})
}

// remove removes a leftover with del, unless this is a dry run, and lists
// it; it reports whether the leftover is (or, in a dry run, would be)
// gone.
func (r *regionCleanup) remove(kind, id, run string, del func() error) bool {
	if !r.dryRun {
		if err := del(); err != nil {
			r.fail(err)
			return false
		}
	}
	r.found(kind, id, run)
	return true
}

var temporary = filter("tag:"+bake.TagTemporary, "true")

func (r *regionCleanup) run(ctx context.Context) error {
	client, err := r.b.ec2In(r.region)
	if err != nil {
		return err
	}
	r.client = client
	instancesGone := true
	if err := r.instances(ctx); err != nil {
		r.fail(err)
		instancesGone = false
	}
	r.images(ctx)
	r.keyPairs(ctx)
	if !instancesGone {
		// Groups and volumes held by instances still there cannot go.
		return errors.Join(r.errs...)
	}
	r.volumes(ctx)
	r.groups(ctx)
	return errors.Join(r.errs...)
}

// groups deletes the leftover security groups, once their instances are
// gone.
func (r *regionCleanup) groups(ctx context.Context) {
	groups, err := describeAll(ctx, ec2.NewDescribeSecurityGroupsPaginator(r.client, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{temporary}}),
		func(o *ec2.DescribeSecurityGroupsOutput) []types.SecurityGroup { return o.SecurityGroups })
	if err != nil {
		r.fail(fmt.Errorf("looking up security groups: %w", err))
	}
	for _, g := range groups {
		id := awssdk.ToString(g.GroupId)
		if run, ok := r.stale(g.Tags, time.Time{}); ok {
			r.remove(KindSecurityGroup, id, run, func() error {
				return deleteSecurityGroup(ctx, r.client, id, r.b.opts.PollInterval)
			})
		}
	}
}

// keyPairs deletes the leftover key pairs.
func (r *regionCleanup) keyPairs(ctx context.Context) {
	keys, err := r.client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: []types.Filter{temporary}})
	if err != nil {
		r.fail(fmt.Errorf("looking up key pairs: %w", err))
		return
	}
	for _, k := range keys.KeyPairs {
		name := awssdk.ToString(k.KeyName)
		if run, ok := r.stale(k.Tags, awssdk.ToTime(k.CreateTime)); ok {
			r.remove(KindKeyPair, name, run, func() error {
				_, err := r.client.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: k.KeyName})
				if err != nil && !isNotFound(err) {
					return fmt.Errorf("deleting key pair %s: %w", name, err)
				}
				return nil
			})
		}
	}
}

// instances terminates the leftover instances and waits until they are
// gone.
func (r *regionCleanup) instances(ctx context.Context) error {
	filters := []types.Filter{temporary, notTerminated()}
	reservations, err := describeAll(ctx, ec2.NewDescribeInstancesPaginator(r.client, &ec2.DescribeInstancesInput{Filters: filters}), reservationsOf)
	if err != nil {
		return fmt.Errorf("looking up instances: %w", err)
	}
	var ids []string
	runs := map[string]string{}
	for _, res := range reservations {
		for _, inst := range res.Instances {
			if run, ok := r.stale(inst.Tags, awssdk.ToTime(inst.LaunchTime)); ok {
				id := awssdk.ToString(inst.InstanceId)
				ids = append(ids, id)
				runs[id] = run
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if !r.dryRun {
		if err := terminateInstances(ctx, r.client, ids, r.b.opts.PollInterval, r.b.waitTimeout(instanceWaitTimeout)); err != nil {
			return err
		}
	}
	for _, id := range ids {
		r.found(KindInstance, id, runs[id])
	}
	return nil
}

// images deregisters leftover partial images (of a killed CreateImage or
// CopyImage) and deletes their snapshots and the leftover snapshots.
func (r *regionCleanup) images(ctx context.Context) {
	images, err := findImages(ctx, r.client, []types.Filter{temporary})
	if err != nil {
		r.fail(err)
		return
	}
	snapRuns := map[string]string{}
	for _, img := range images {
		id := awssdk.ToString(img.ImageId)
		run, ok := r.stale(img.Tags, creationTime(img))
		if !ok {
			continue
		}
		deregistered := r.remove(KindImage, id, run, func() error {
			_, err := r.client.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: img.ImageId})
			if err != nil && !isNotFound(err) {
				return fmt.Errorf("deregistering image %s: %w", id, err)
			}
			return nil
		})
		if !deregistered {
			continue
		}
		for _, sn := range snapshotsOf(&img) {
			snapRuns[sn] = run
		}
	}
	snaps, err := findSnapshots(ctx, r.client, []types.Filter{temporary})
	if err != nil {
		r.fail(err)
	}
	for _, sn := range snaps {
		if run, ok := r.stale(sn.Tags, awssdk.ToTime(sn.StartTime)); ok {
			snapRuns[awssdk.ToString(sn.SnapshotId)] = run
		}
	}
	for _, id := range slices.Sorted(maps.Keys(snapRuns)) {
		r.remove(KindSnapshot, id, snapRuns[id], func() error {
			return deleteSnapshot(ctx, r.client, id, r.b.opts.PollInterval)
		})
	}
}

// volumes deletes leftover volumes no instance holds (a root volume goes
// with its instance).
func (r *regionCleanup) volumes(ctx context.Context) {
	vols, err := describeAll(ctx, ec2.NewDescribeVolumesPaginator(r.client, &ec2.DescribeVolumesInput{
		Filters: []types.Filter{temporary, filter("status", "available")},
	}), func(o *ec2.DescribeVolumesOutput) []types.Volume { return o.Volumes })
	if err != nil {
		r.fail(fmt.Errorf("looking up volumes: %w", err))
		return
	}
	for _, v := range vols {
		id := awssdk.ToString(v.VolumeId)
		if run, ok := r.stale(v.Tags, awssdk.ToTime(v.CreateTime)); ok {
			r.remove(KindVolume, id, run, func() error {
				_, err := r.client.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: v.VolumeId})
				if err != nil && !isNotFound(err) {
					return fmt.Errorf("deleting volume %s: %w", id, err)
				}
				return nil
			})
		}
	}
}
