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

// CleanupOptions say which leftovers Cleanup removes.
type CleanupOptions struct {
	// OlderThan spares what was made more recently, except by Dead runs.
	OlderThan time.Duration
	// Alive says whether this machine holds a run (nil: it holds none).
	// A run whose resources beat less than HeartbeatStale ago is alive
	// too, wherever it runs, unless it is one of Dead.
	Alive func(runID string) bool
	// Dead are runs the user knows have died (killed, say): their
	// resources go however recently they beat or were made.
	Dead []string
	// DryRun only lists what would go.
	DryRun bool
}

// Spared is a run whose leftovers Cleanup left alone because it seems
// alive elsewhere: its resources beat LastBeat.
type Spared struct {
	Region    string
	Run       string
	Resources int
	LastBeat  time.Time
}

// Cleanup finds, in every region, the resources tagged
// imgraph:temporary=true whose run is not alive and whose imgraph:created
// is older than opts.OlderThan, and removes them: instances first (and
// waits until they are gone), then partial images and their snapshots,
// stray volumes, security groups and key pairs. It goes on after a
// failure, and returns what it removed (or, in a dry run, would remove),
// the runs it spared as alive elsewhere, and every failure joined.
func (b *Baker) Cleanup(ctx context.Context, regions []string, opts CleanupOptions) ([]Removed, []Spared, error) {
	now := time.Now()
	var (
		mu      sync.Mutex
		removed []Removed
		spared  []Spared
		errs    []error
		wg      sync.WaitGroup
	)
	for _, region := range regions {
		wg.Go(func() {
			r := &regionCleanup{b: b, region: region, opts: opts, now: now}
			err := r.run(ctx)
			mu.Lock()
			defer mu.Unlock()
			removed = append(removed, r.removed...)
			for _, run := range slices.Sorted(maps.Keys(r.spared)) {
				spared = append(spared, Spared{Region: region, Run: run, Resources: r.spared[run], LastBeat: r.beats[run]})
			}
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
	sort.Slice(spared, func(i, j int) bool {
		return spared[i].Region < spared[j].Region || spared[i].Region == spared[j].Region && spared[i].Run < spared[j].Run
	})
	return removed, spared, errors.Join(errs...)
}

// regionCleanup is Cleanup in one region.
type regionCleanup struct {
	b      *Baker
	region string
	opts   CleanupOptions
	now    time.Time
	client *ec2.Client

	// What the survey found: every temporary resource of the region, and
	// when each run last beat (see TagHeartbeat).
	instances []types.Instance
	images    []types.Image
	snapshots []types.Snapshot
	volumes   []types.Volume
	groups    []types.SecurityGroup
	keyPairs  []types.KeyPairInfo
	beats     map[string]time.Time

	removed []Removed
	spared  map[string]int // run -> its resources left alone as alive elsewhere
	errs    []error
}

// stale reports whether a resource with tags (made at made, when its tag
// does not say) is a leftover to remove, and its run. A run is alive, and
// its resources left alone whatever their age, while it holds its marker
// on this machine or while any of its resources beat less than
// HeartbeatStale ago, on whatever machine and with whatever cache it runs.
func (r *regionCleanup) stale(tags []types.Tag, made time.Time) (string, bool) {
	if tagValue(tags, bake.TagTemporary) != "true" {
		return "", false
	}
	run := tagValue(tags, bake.TagRun)
	if run != "" && r.opts.Alive != nil && r.opts.Alive(run) {
		return run, false
	}
	if t, err := time.Parse(time.RFC3339, tagValue(tags, bake.TagCreated)); err == nil {
		made = t
	}
	// A run named dead goes at once, however recently it made them (an
	// --on-error=abort build's instance, say).
	if !made.IsZero() && r.now.Sub(made) < r.opts.OlderThan && !slices.Contains(r.opts.Dead, run) {
		return run, false
	}
	if beat, ok := r.beats[run]; ok && r.now.Sub(beat) < HeartbeatStale && !slices.Contains(r.opts.Dead, run) {
		if r.spared == nil {
			r.spared = map[string]int{}
		}
		r.spared[run]++
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
	if !r.opts.DryRun {
		if err := del(); errors.Is(err, errNoLongerLeft) {
			return false
		} else if err != nil {
			r.fail(err)
			return false
		}
	}
	r.found(kind, id, run)
	return true
}

// errNoLongerLeft is what a removal returns when it finds, just before it
// deletes, that the leftover is one no more: gone, or another run's now.
var errNoLongerLeft = errors.New("no longer a leftover")

// stillLeft reports whether a leftover of run, surveyed a while ago and
// described again just now with tags, is still that dead run's: an image
// another run adopts (see claimImage) loses its temporary tag and changes
// run, and one whose run turns out to be alive beats again.
func (r *regionCleanup) stillLeft(tags []types.Tag, run string) bool {
	if tagValue(tags, bake.TagTemporary) != "true" || tagValue(tags, bake.TagRun) != run {
		return false
	}
	return slices.Contains(r.opts.Dead, run) || time.Since(lastBeat(tags)) >= HeartbeatStale
}

var temporary = filter("tag:"+bake.TagTemporary, "true")

func (r *regionCleanup) run(ctx context.Context) error {
	client, err := r.b.ec2In(r.region)
	if err != nil {
		return err
	}
	r.client = client
	if err := r.survey(ctx); err != nil {
		// Without the whole picture, a live run could look dead.
		return err
	}
	instancesGone := true
	if err := r.removeInstances(ctx); err != nil {
		r.fail(err)
		instancesGone = false
	}
	r.removeImages(ctx)
	r.removeKeyPairs(ctx)
	if !instancesGone {
		// Groups and volumes held by instances still there cannot go.
		return errors.Join(r.errs...)
	}
	r.removeVolumes(ctx)
	r.removeGroups(ctx)
	return errors.Join(r.errs...)
}

// survey finds every temporary resource of the region, and when each run
// last beat.
func (r *regionCleanup) survey(ctx context.Context) error {
	reservations, err := describeAll(ctx, ec2.NewDescribeInstancesPaginator(r.client, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{temporary, notTerminated()}}), reservationsOf)
	if err != nil {
		return fmt.Errorf("looking up instances: %w", err)
	}
	for _, res := range reservations {
		r.instances = append(r.instances, res.Instances...)
	}
	if r.images, err = findImages(ctx, r.client, []types.Filter{temporary}); err != nil {
		return err
	}
	if r.snapshots, err = findSnapshots(ctx, r.client, []types.Filter{temporary}); err != nil {
		return err
	}
	r.volumes, err = describeAll(ctx, ec2.NewDescribeVolumesPaginator(r.client, &ec2.DescribeVolumesInput{
		Filters: []types.Filter{temporary, filter("status", "available")},
	}), func(o *ec2.DescribeVolumesOutput) []types.Volume { return o.Volumes })
	if err != nil {
		return fmt.Errorf("looking up volumes: %w", err)
	}
	r.groups, err = describeAll(ctx, ec2.NewDescribeSecurityGroupsPaginator(r.client, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{temporary}}),
		func(o *ec2.DescribeSecurityGroupsOutput) []types.SecurityGroup { return o.SecurityGroups })
	if err != nil {
		return fmt.Errorf("looking up security groups: %w", err)
	}
	keys, err := r.client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: []types.Filter{temporary}})
	if err != nil {
		return fmt.Errorf("looking up key pairs: %w", err)
	}
	r.keyPairs = keys.KeyPairs

	r.beats = map[string]time.Time{}
	beat := func(tags []types.Tag) {
		run := tagValue(tags, bake.TagRun)
		if t := lastBeat(tags); run != "" && t.After(r.beats[run]) {
			r.beats[run] = t
		}
	}
	for _, in := range r.instances {
		beat(in.Tags)
	}
	for _, img := range r.images {
		beat(img.Tags)
	}
	for _, sn := range r.snapshots {
		beat(sn.Tags)
	}
	for _, v := range r.volumes {
		beat(v.Tags)
	}
	for _, g := range r.groups {
		beat(g.Tags)
	}
	for _, k := range r.keyPairs {
		beat(k.Tags)
	}
	return nil
}

// removeGroups deletes the leftover security groups, once their
// instances are gone.
func (r *regionCleanup) removeGroups(ctx context.Context) {
	for _, g := range r.groups {
		id := awssdk.ToString(g.GroupId)
		if run, ok := r.stale(g.Tags, time.Time{}); ok {
			r.remove(KindSecurityGroup, id, run, func() error {
				return deleteSecurityGroup(ctx, r.client, id, r.b.opts.PollInterval)
			})
		}
	}
}

// removeKeyPairs deletes the leftover key pairs.
func (r *regionCleanup) removeKeyPairs(ctx context.Context) {
	for _, k := range r.keyPairs {
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

// removeInstances terminates the leftover instances and waits until they
// are gone.
func (r *regionCleanup) removeInstances(ctx context.Context) error {
	var ids []string
	runs := map[string]string{}
	for _, inst := range r.instances {
		if run, ok := r.stale(inst.Tags, awssdk.ToTime(inst.LaunchTime)); ok {
			id := awssdk.ToString(inst.InstanceId)
			ids = append(ids, id)
			runs[id] = run
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if !r.opts.DryRun {
		if err := terminateInstances(ctx, r.client, ids, r.b.opts.PollInterval, r.b.waitTimeout(instanceWaitTimeout)); err != nil {
			return err
		}
	}
	for _, id := range ids {
		r.found(KindInstance, id, runs[id])
	}
	return nil
}

// removeImages deregisters leftover partial images (of a killed
// CreateImage or CopyImage) and deletes their snapshots and the leftover
// snapshots.
func (r *regionCleanup) removeImages(ctx context.Context) {
	snapRuns := map[string]string{}
	for _, img := range r.images {
		id := awssdk.ToString(img.ImageId)
		run, ok := r.stale(img.Tags, creationTime(img))
		if !ok {
			continue
		}
		deregistered := r.remove(KindImage, id, run, func() error {
			// The survey may be minutes old (instances were waited for):
			// another run may have adopted the image since.
			now, err := describeImage(ctx, r.client, id)
			if err != nil {
				return err
			}
			if now == nil || !r.stillLeft(now.Tags, run) {
				return errNoLongerLeft
			}
			_, err = r.client.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: img.ImageId})
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
	deregisteredWith := maps.Clone(snapRuns)
	for _, sn := range r.snapshots {
		if run, ok := r.stale(sn.Tags, awssdk.ToTime(sn.StartTime)); ok {
			snapRuns[awssdk.ToString(sn.SnapshotId)] = run
		}
	}
	for _, id := range slices.Sorted(maps.Keys(snapRuns)) {
		r.remove(KindSnapshot, id, snapRuns[id], func() error {
			if _, ours := deregisteredWith[id]; !ours {
				// A leftover of its own: look again, as for images.
				out, err := r.client.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
				if isNotFound(err) {
					return errNoLongerLeft
				}
				if err != nil {
					return fmt.Errorf("describing snapshot %s: %w", id, err)
				}
				if len(out.Snapshots) == 0 || !r.stillLeft(out.Snapshots[0].Tags, snapRuns[id]) {
					return errNoLongerLeft
				}
			}
			return deleteSnapshot(ctx, r.client, id, r.b.opts.PollInterval)
		})
	}
}

// removeVolumes deletes leftover volumes no instance holds (a root volume
// goes with its instance).
func (r *regionCleanup) removeVolumes(ctx context.Context) {
	for _, v := range r.volumes {
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
