package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// Leases says whether another build holds a key's lease (a cache.Local's
// flock, a shared cache's lease).
type Leases interface {
	Held(ctx context.Context, key string) (bool, error)
}

// RecordRemover forgets the record of a key (a cache that can).
type RecordRemover interface {
	Get(ctx context.Context, keys []string) (map[string]*cache.Record, error)
	Remove(ctx context.Context, key string) error
}

// GCRun is one `imgraph gc`: the platform, where to look, the policy and
// what protects images.
type GCRun struct {
	Retirer bake.Retirer
	// Regions are where the platform's images are looked for.
	Regions []string
	Options GCOptions
	// Current and Named as in GCGuards; Parameters are the SSM parameters
	// to read in every region, whose images are named too.
	Current    map[string]string
	Named      map[string]string
	Parameters []string
	Leases     Leases
	// RunAlive says whether a run is alive on this machine (nil: none is).
	RunAlive func(run string) bool
	// Records are the caches whose records of removed versions go.
	Records []RecordRemover
	DryRun  bool
	// RetireTimeout bounds the removal of one image, which a cancel does
	// not cut short once started (0: 10 minutes).
	RetireTimeout time.Duration
}

// GCReport is what a gc decided and did.
type GCReport struct {
	DryRun   bool
	Versions []*GCVersion
	// Outcomes are what became of each image of a version that was to go,
	// by image id.
	Outcomes map[string]*GCOutcome
	// Freed is the bytes the removals freed (or, in a dry run, would free).
	Freed int64
	// Notes are what the user should hear: records left because some of
	// their images remain.
	Notes []string
}

// GCOutcome is what became of one image gc meant to remove.
type GCOutcome struct {
	Removed bool
	Retired bake.Retired
	// Kept says why it stayed after all (it changed since it was listed,
	// or the run was interrupted before it was reached); Err is why its
	// removal failed.
	Kept string
	Err  error
	// neededBy are the images whose storage needed this one's when it was
	// kept: it is tried again once they are gone.
	neededBy []string
}

// RunGC lists the platform's images, decides which go (DecideGC) and,
// unless a dry run, removes them one at a time, each version's record
// with it once all its images are gone. Every image is looked at again
// just before it goes (its key's lease, then the platform's own look).
// A cancel stops it between two images: the one being removed is
// finished. It goes on after a failure and returns every failure joined.
func RunGC(ctx context.Context, run GCRun) (*GCReport, error) {
	images, err := run.Retirer.Baked(ctx, run.Regions)
	if err != nil {
		return nil, err
	}
	g := GCGuards{Current: run.Current, Named: maps.Clone(run.Named), Held: map[string]bool{}, LiveRuns: map[string]bool{}}
	if g.Named == nil {
		g.Named = map[string]string{}
	}
	if len(run.Parameters) > 0 {
		for _, region := range run.Regions {
			values, err := run.Retirer.Published(ctx, region, run.Parameters)
			if err != nil {
				return nil, err
			}
			for _, name := range slices.Sorted(maps.Keys(values)) {
				if _, ok := g.Named[values[name]]; !ok {
					g.Named[values[name]] = fmt.Sprintf("the SSM parameter %s in %s", name, region)
				}
			}
		}
	}
	current := map[string]bool{}
	for _, k := range run.Current {
		current[k] = true
	}
	for _, img := range images {
		if img.Run != "" && (img.RunLive || run.RunAlive != nil && run.RunAlive(img.Run)) {
			g.LiveRuns[img.Run] = true
		}
		selected := img.Label != "" && (run.Options.Selected == nil || run.Options.Selected(img.Label))
		if run.Leases != nil && selected && !current[img.Key] {
			if _, asked := g.Held[img.Key]; asked {
				continue
			}
			held, err := run.Leases.Held(ctx, img.Key)
			if err != nil {
				return nil, fmt.Errorf("asking whether a build holds key %s: %w", bake.ShortKey(img.Key), err)
			}
			g.Held[img.Key] = held
		}
	}
	rep := &GCReport{DryRun: run.DryRun, Versions: DecideGC(images, run.Options, g), Outcomes: map[string]*GCOutcome{}}
	var errs []error
	var blocked []*GCVersion // kept only for images this gc may remove too
	for _, v := range rep.Versions {
		if !v.Remove {
			continue
		}
		if run.DryRun {
			rep.Freed += v.Bytes()
			continue
		}
		if err := run.retire(ctx, rep, v); err != nil {
			errs = append(errs, err)
		}
		if rep.blocked(v) {
			blocked = append(blocked, v)
		}
	}
	// An image whose storage others needed may go once they have: again,
	// while that frees one.
	for progress := true; progress && len(blocked) > 0 && ctx.Err() == nil; {
		progress = false
		var still []*GCVersion
		for _, v := range blocked {
			if !rep.unblocked(v) {
				still = append(still, v)
				continue
			}
			progress = true
			if err := run.retire(ctx, rep, v); err != nil {
				errs = append(errs, err)
			}
			if rep.blocked(v) {
				still = append(still, v)
			}
		}
		blocked = still
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// blocked reports whether some image of v was kept only because images
// needed it.
func (rep *GCReport) blocked(v *GCVersion) bool {
	for _, img := range v.Images {
		if out := rep.Outcomes[img.ID]; out != nil && !out.Removed && len(out.neededBy) > 0 {
			return true
		}
	}
	return false
}

// unblocked reports whether every image that needed v's images has been
// removed since.
func (rep *GCReport) unblocked(v *GCVersion) bool {
	for _, img := range v.Images {
		out := rep.Outcomes[img.ID]
		if out == nil {
			continue
		}
		for _, id := range out.neededBy {
			if o := rep.Outcomes[id]; o == nil || !o.Removed {
				return false
			}
		}
	}
	return true
}

// retire removes one version's images, then its records.
func (run GCRun) retire(ctx context.Context, rep *GCReport, v *GCVersion) error {
	var errs []error
	removed := map[string]bool{}
	for _, img := range v.Images {
		out := &GCOutcome{}
		rep.Outcomes[img.ID] = out
		if ctx.Err() != nil {
			out.Kept = "gc was interrupted before it got to it"
			continue
		}
		if run.Leases != nil {
			held, err := run.Leases.Held(ctx, img.Key)
			if err != nil || held {
				out.Kept = "another build took the key's lease since it was listed"
				if err != nil {
					out.Kept, out.Err = "", err
					errs = append(errs, err)
				}
				continue
			}
		}
		// Once started, a removal finishes, cancel or not: half of one
		// is worse than none. Its own bound and a second Ctrl-C keep it
		// from hanging.
		rctx, cancel := bake.CleanupContext(ctx, cmpOr(run.RetireTimeout, 10*time.Minute))
		retired, err := run.Retirer.Retire(rctx, img)
		cancel()
		out.Retired = retired
		rep.Freed += retired.Freed
		var still *bake.StillWantedError
		switch {
		case errors.As(err, &still):
			out.Kept, out.neededBy = still.Reason, still.NeededBy
		case err != nil:
			out.Err = err
			errs = append(errs, fmt.Errorf("removing %s (%s in %s): %w", v.Label, img.ID, img.Region, err))
			if retired.Gone {
				removed[img.ID] = true // its storage is what failed
			}
		default:
			out.Removed = true
			removed[img.ID] = true
		}
	}
	for _, records := range run.Records {
		if err := forgetRecord(ctx, records, v, removed, rep); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// forgetRecord removes the record of v's key when every image it names
// was removed by this gc (or is one of v's, gone already); a record that
// still names an image that stands is left, and said so.
func forgetRecord(ctx context.Context, records RecordRemover, v *GCVersion, removed map[string]bool, rep *GCReport) error {
	recs, err := records.Get(ctx, []string{v.Key})
	if err != nil {
		return fmt.Errorf("reading the record of %s (key %s): %w", v.Label, bake.ShortKey(v.Key), err)
	}
	rec := recs[v.Key]
	if rec == nil {
		return nil
	}
	var left []string
	for _, region := range slices.Sorted(maps.Keys(rec.Images)) {
		if id := rec.Images[region]; !removed[id] {
			left = append(left, id+" in "+region)
		}
	}
	if len(left) > 0 {
		if len(removed) > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the cache's record of %s (key %s) is kept: it still names %s",
				v.Label, bake.ShortKey(v.Key), joinAnd(left)))
		}
		return nil
	}
	if err := records.Remove(ctx, v.Key); err != nil {
		return fmt.Errorf("removing the record of %s (key %s): %w", v.Label, bake.ShortKey(v.Key), err)
	}
	return nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// GCNamed are the image ids IMAGES.lock and the manifest of outDir name,
// each with where. A manifest that cannot be read is an error: what it
// names is not known, so nothing may go.
func GCNamed(lock *Lock, outDir string) (map[string]string, error) {
	named := map[string]string{}
	if lock != nil {
		for _, s := range lock.Sources {
			named[s.ID] = rules.LockFile + " (" + s.Source + ")"
		}
	}
	m, err := ReadManifest(outDir)
	if errors.Is(err, fs.ErrNotExist) {
		return named, nil
	}
	where := filepath.Join(filepath.Base(outDir), "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read, so what it names is not known: %w\n  hint: fix or remove it, then run gc again", where, err)
	}
	labels := slices.Sorted(maps.Keys(m.Images))
	for _, l := range labels {
		for _, id := range m.Images[l].Images {
			if _, ok := named[id]; !ok {
				named[id] = where + " (" + l + ")"
			}
		}
	}
	return named, nil
}

// GCSelection checks patterns as a build would (a package that does not
// exist, an image its package lacks), against the analysis of the whole
// workspace, and says which labels they select: as in a build, the last
// pattern that matches a label decides. A label the workspace no longer
// has is selected by the patterns that match it.
func GCSelection(f PackageFinder, a *Analysis, patterns []label.Pattern) (func(string) bool, error) {
	if _, err := PackagesFor(f, patterns); err != nil {
		return nil, err
	}
	if err := checkSingles(a.Result, patterns); err != nil {
		return nil, err
	}
	return func(s string) bool {
		l, err := label.Parse(s)
		if err != nil {
			return false
		}
		chosen := false
		for _, p := range patterns {
			if p.Matches(l, false) {
				chosen = !p.Negative
			}
		}
		return chosen
	}, nil
}
