package engine

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
)

// fakeRetirer is a platform's images in memory.
type fakeRetirer struct {
	mu      sync.Mutex
	images  []bake.BakedImage
	params  map[string]map[string]string // region -> name -> image id
	retired []string
	// onRetire, when set, runs as an image is retired (before it goes);
	// an error keeps it.
	onRetire func(img bake.BakedImage) error
}

func (f *fakeRetirer) Baked(ctx context.Context, regions []string) ([]bake.BakedImage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.images), nil
}

func (f *fakeRetirer) Published(ctx context.Context, region string, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		if id, ok := f.params[region][n]; ok {
			out[n] = id
		}
	}
	return out, nil
}

func (f *fakeRetirer) Retire(ctx context.Context, img bake.BakedImage) (bake.Retired, error) {
	if f.onRetire != nil {
		if err := f.onRetire(img); err != nil {
			return bake.Retired{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images = slices.DeleteFunc(f.images, func(x bake.BakedImage) bool { return x.ID == img.ID })
	f.retired = append(f.retired, img.ID)
	return bake.Retired{Gone: true, Snapshots: img.Snapshots, Freed: img.Bytes}, ctx.Err()
}

// fakeRecords is a cache's records in memory.
type fakeRecords struct{ recs map[string]*cache.Record }

func (r *fakeRecords) Get(ctx context.Context, keys []string) (map[string]*cache.Record, error) {
	out := map[string]*cache.Record{}
	for _, k := range keys {
		if rec := r.recs[k]; rec != nil {
			out[k] = rec
		}
	}
	return out, nil
}

func (r *fakeRecords) Remove(ctx context.Context, key string) error {
	delete(r.recs, key)
	return nil
}

type fakeLeases map[string]bool

func (l fakeLeases) Held(ctx context.Context, key string) (bool, error) { return l[key], nil }

// recordsOf records every version of history() as its images say.
func recordsOf(images []bake.BakedImage) *fakeRecords {
	r := &fakeRecords{recs: map[string]*cache.Record{}}
	for _, img := range images {
		rec := r.recs[img.Key]
		if rec == nil {
			rec = &cache.Record{Key: img.Key, Label: img.Label, Images: map[string]string{}}
			r.recs[img.Key] = rec
		}
		rec.Images[img.Region] = img.ID
	}
	return r
}

func gcRun(f *fakeRetirer, records *fakeRecords) GCRun {
	return GCRun{
		Retirer: f, Regions: []string{"eu-west-1", "us-east-1"},
		Options: GCOptions{Keep: 1, Now: gcNow},
		Current: map[string]string{"//base:base": "k5"},
		Records: []RecordRemover{records},
	}
}

func TestRunGCRemovesVersionsAndTheirRecords(t *testing.T) {
	f := &fakeRetirer{images: history(), params: map[string]map[string]string{"eu-west-1": {"/base": "ami-k22"}}}
	records := recordsOf(f.images)
	run := gcRun(f, records)
	run.Parameters = []string{"/base", "/missing"}
	run.Leases = fakeLeases{"k1": true}

	dry := run
	dry.DryRun = true
	rep, err := RunGC(t.Context(), dry)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.retired) > 0 || len(records.recs) != 5 || rep.Freed != 16 {
		t.Fatalf("a dry run retired %v, left %d records, would free %d; want nothing, 5, 16", f.retired, len(records.recs), rep.Freed)
	}
	rep, err = RunGC(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	// k1 is held, k2 published, k4 the newest superseded: k3 goes.
	if got := sorted(f.retired); !slices.Equal(got, []string{"ami-k31", "ami-k32"}) {
		t.Errorf("retired %v, want k3's two images", got)
	}
	if records.recs["k3"] != nil || len(records.recs) != 4 {
		t.Errorf("records left: %v; want all but k3's", slices.Sorted(maps.Keys(records.recs)))
	}
	if rep.Freed != 16 || !rep.Outcomes["ami-k31"].Removed {
		t.Errorf("freed %d, outcome %+v", rep.Freed, rep.Outcomes["ami-k31"])
	}
	for _, v := range rep.Versions {
		why := strings.Join(v.Reasons, "\n")
		switch v.Key {
		case "k1":
			if !strings.Contains(why, "another build holds the key's lease") {
				t.Errorf("k1: %q", why)
			}
		case "k2":
			if !strings.Contains(why, "ami-k22 in eu-west-1 is named in the SSM parameter /base in eu-west-1") {
				t.Errorf("k2: %q", why)
			}
		}
	}
	again, err := RunGC(t.Context(), run)
	if err != nil || slices.ContainsFunc(again.Versions, func(v *GCVersion) bool { return v.Remove }) {
		t.Errorf("a second gc: %v, %v", again.Versions, err)
	}
}

// A run alive on this machine, or beating on the platform, keeps the
// images it made.
func TestRunGCKeepsImagesOfLiveRuns(t *testing.T) {
	images := history()
	images[0].Run = "run-here"  // k1 in us-east-1, its run alive on this machine
	images[4].Run = "run-beats" // k3 in us-east-1, its run beating elsewhere
	images[4].RunLive = true
	images[2].Run = "run-dead" // k2
	f := &fakeRetirer{images: images}
	run := gcRun(f, recordsOf(images))
	run.RunAlive = func(r string) bool { return r == "run-here" }
	if _, err := RunGC(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	if got := sorted(f.retired); !slices.Equal(got, []string{"ami-k21", "ami-k22"}) {
		t.Errorf("retired %v, want k2's images only", got)
	}
}

// A version one of whose images stays keeps its record, and says so;
// an image that changed since it was listed stays.
func TestRunGCKeepsWhatItCouldNotRemove(t *testing.T) {
	f := &fakeRetirer{images: history()}
	records := recordsOf(f.images)
	f.onRetire = func(img bake.BakedImage) error {
		if img.ID == "ami-k12" {
			return &bake.StillWantedError{ID: img.ID, Reason: "it was shared with other accounts since it was listed"}
		}
		if img.ID == "ami-k22" {
			return errors.New("EC2 said no")
		}
		return nil
	}
	rep, err := RunGC(t.Context(), gcRun(f, records))
	if err == nil || !strings.Contains(err.Error(), "EC2 said no") {
		t.Errorf("RunGC: %v, want the failure", err)
	}
	if o := rep.Outcomes["ami-k12"]; o == nil || o.Removed || !strings.Contains(o.Kept, "shared") {
		t.Errorf("ami-k12: %+v, want kept as shared", o)
	}
	for _, k := range []string{"k1", "k2"} {
		if records.recs[k] == nil {
			t.Errorf("the record of %s went though one of its images stands", k)
		}
	}
	if records.recs["k3"] != nil {
		t.Error("the record of k3 is left though its images went")
	}
	if len(rep.Notes) != 2 || !strings.Contains(rep.Notes[0], "still names") {
		t.Errorf("notes %q, want one per record kept", rep.Notes)
	}
}

// A cancel stops gc between two images: the one being removed is
// finished, in a context the cancel does not end, and the rest stay.
func TestRunGCInterrupted(t *testing.T) {
	f := &fakeRetirer{images: history()}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.onRetire = func(img bake.BakedImage) error {
		cancel() // Ctrl-C while the first image is being removed
		return nil
	}
	rep, err := RunGC(ctx, gcRun(f, recordsOf(f.images)))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("RunGC: %v, want canceled", err)
	}
	if len(f.retired) != 1 {
		t.Fatalf("retired %v, want the one under way only", f.retired)
	}
	if !rep.Outcomes[f.retired[0]].Removed {
		t.Errorf("the image under way: %+v, want removed", rep.Outcomes[f.retired[0]])
	}
	kept := 0
	for _, o := range rep.Outcomes {
		if strings.Contains(o.Kept, "interrupted") {
			kept++
		}
	}
	if kept == 0 {
		t.Errorf("no image says gc was interrupted before it: %v", rep.Outcomes)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
