package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/label"
)

// Store is the cache as a build uses it: read, and written after each bake.
type Store interface {
	Records
	Put(ctx context.Context, rec *cache.Record) error
}

// LogStore keeps each bake's log beside its record (the shared cache does).
type LogStore interface {
	PutLog(ctx context.Context, key string, r io.Reader) error
}

// KeyLocker makes processes that want the same key take turns, so a key
// is baked once however many builds want it.
type KeyLocker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// BuildOptions are everything a build needs besides its plan.
type BuildOptions struct {
	Jobs      int  // bakes at once
	KeepGoing bool // let independent branches finish after a failure
	// TestOnly runs the plan's tests and nothing else: no image is
	// copied or published (imgraph test).
	TestOnly bool
	RunID    string
	Baker    bake.Baker // the plan's platform
	Store    Store
	Locker   KeyLocker // nil: no other process shares the cache
	Observer Observer  // nil: no events
	OutDir   string    // imgraph-out: logs and the manifest
	Fetcher  *Fetcher
	Secret   func(name string) (string, bool) // looks up secret_env values
	Now      func() time.Time                 // nil: time.Now
	Warn     func(format string, args ...any) // nil: warnings are dropped
	// Command and Version go into the build_start event: the command
	// line that started the build, and imgraph's version.
	Command []string
	Version string
}

// Outcome is what a build did with one image.
type Outcome struct {
	Target  *Target
	Action  Action            // what happened: bake, test, copy, share, retag, cached or skipped
	Images  map[string]string // region -> image id, after the build
	Err     error             // why it failed
	Reason  string            // why it was skipped, or reused
	Log     string            // the bake's log
	Elapsed time.Duration     // from the start of the work (a bake's, once it has a slot) to its end
}

// Report is what a build did, in graph order.
type Report struct {
	Outcomes []*Outcome
	Failed   int
	Skipped  int
}

// Counts tallies what the build did, a failure counting as "failed".
func (r *Report) Counts() map[string]int {
	c := map[string]int{}
	for _, o := range r.Outcomes {
		if o.Err != nil {
			c["failed"]++
		} else {
			c[string(o.Action)]++
		}
	}
	return c
}

// BuildError says a build finished with failed images (exit code 1).
type BuildError struct{ Failed, Skipped int }

func (e *BuildError) Error() string {
	return fmt.Sprintf("%d %s failed, %d skipped", e.Failed, Plural(e.Failed, "image", "images"), e.Skipped)
}

// BakeFailed marks the error as a failed bake rather than bad input.
func (e *BuildError) BakeFailed() bool { return true }

// Plural is one when n is 1, else many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// node is one image as the scheduler carries it: its outcome as it
// forms, and what its children wait for.
type node struct {
	out     *Outcome
	started time.Time // when the bake took its slot

	home   chan struct{} // closed once the image exists in the home region (or never will)
	homeOK bool          // set before home is closed: the image exists there
	homeID string        // set before home is closed: its id there

	mu       sync.Mutex // guards what distribution's goroutines share:
	record   *cache.Record
	failures []error
	// recording is held from changing the record to writing it, so the
	// cache and the manifest see an image's records in order.
	recording sync.Mutex
}

// ready says whether the image exists in the home region, and lets its
// children go; only the first call counts.
func (n *node) ready(ok bool, id string) {
	select {
	case <-n.home:
	default:
		n.homeOK, n.homeID = ok, id
		close(n.home)
	}
}

type builder struct {
	opt   BuildOptions
	a     *Analysis
	home  string
	slots chan struct{}
	nodes map[label.Label]*node
	stop  context.CancelFunc // stops the build after a failure without --keep-going

	mu       sync.Mutex
	done     int
	total    int
	manifest *Manifest
	recorded map[string]bool // the labels this build put in the manifest
}

// Build carries out a plan: it bakes in dependency order with opt.Jobs
// bakes at once, starting each child as soon as its parent exists in the
// home region, and copies and publishes beside the bakes. Every finished
// bake is recorded in the cache at once. It returns a *BuildError when
// images failed, and ctx's error when ctx was cancelled.
func Build(ctx context.Context, a *Analysis, p *Plan, opt BuildOptions) (*Report, error) {
	if opt.Baker == nil || opt.Baker.Name() != p.Platform.Name() {
		return nil, fmt.Errorf("internal: a plan for the %s platform built with another baker", p.Platform.Name())
	}
	if opt.Jobs < 1 {
		opt.Jobs = 1
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Observer == nil {
		opt.Observer = ObserverFunc(func(Event) {})
	}
	if opt.Warn == nil {
		opt.Warn = func(string, ...any) {}
	}
	b := &builder{
		opt:      opt,
		a:        a,
		home:     a.Result.Workspace.HomeRegion,
		slots:    make(chan struct{}, opt.Jobs),
		nodes:    make(map[label.Label]*node, len(p.Targets)),
		total:    len(p.Targets),
		manifest: startManifest(opt.OutDir, opt.RunID, p.Platform.Name(), opt.Warn),
		recorded: map[string]bool{},
	}
	report := &Report{}
	for _, t := range p.Targets {
		o := &Outcome{Target: t, Action: t.Action, Images: map[string]string{}}
		b.nodes[t.Image.Label] = &node{out: o, home: make(chan struct{})}
		report.Outcomes = append(report.Outcomes, o)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	b.stop = stop
	b.emit(Event{Type: EventBuildStart, Total: b.total, SchemaVersion: EventsSchema, RunID: opt.RunID,
		Command: opt.Command, Workspace: a.Result.Workspace.Root, Version: opt.Version, Platform: p.Platform.Name()})

	var wg sync.WaitGroup
	for _, t := range p.Targets {
		n := b.nodes[t.Image.Label]
		wg.Go(func() { b.run(runCtx, n) })
	}
	wg.Wait()

	for _, o := range report.Outcomes {
		switch {
		case o.Err != nil:
			report.Failed++
		case o.Action == ActionSkipped:
			report.Skipped++
		}
	}
	err := b.writeManifest()
	switch {
	case err != nil:
	case ctx.Err() != nil:
		err = ctx.Err()
	case report.Failed > 0:
		err = &BuildError{Failed: report.Failed, Skipped: report.Skipped}
	}
	code := ExitCode(err)
	b.emit(Event{Type: EventBuildFinish, Done: b.done, Total: b.total, ExitCode: &code, Counts: report.Counts()})
	return report, err
}

func (b *builder) emit(e Event) {
	e.Time = b.opt.Now()
	b.opt.Observer.Event(e)
}

// run takes one image through its action once its parent is ready.
func (b *builder) run(ctx context.Context, n *node) {
	t := n.out.Target
	defer b.finished(n)
	defer n.ready(false, "")
	if t.Action == ActionSkipped {
		// Planned so (imgraph test of an image not baked): say why, not
		// that a parent failed.
		b.skip(n, strings.Join(t.Reasons, "; "))
		return
	}
	if !b.waitForParent(ctx, n) {
		return
	}
	start := b.opt.Now()
	switch t.Action {
	case ActionBake:
		if !b.bake(ctx, n) {
			return
		}
	case ActionTest:
		if !b.retest(ctx, n, t.Record) {
			return
		}
	default:
		if !b.reuse(ctx, n, t.Record) {
			return
		}
	}
	if t.Action != ActionCached && !b.opt.TestOnly {
		// What another build baked meanwhile may lack what this one wants.
		b.distribute(ctx, n)
	}
	if !n.started.IsZero() {
		start = n.started // waiting for a slot is not baking
	}
	n.out.Elapsed = b.opt.Now().Sub(start)
}

// waitForParent waits until the image's parent exists in the home region,
// and reports whether it does.
func (b *builder) waitForParent(ctx context.Context, n *node) bool {
	parent := n.out.Target.Image.Parent
	if pn := b.nodes[parent]; !parent.IsZero() && pn != nil {
		select {
		case <-pn.home:
			// homeOK may be read only once home is closed.
			if !pn.homeOK {
				b.skip(n, fmt.Sprintf("parent %s failed", parent))
				return false
			}
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		b.skip(n, "the build stopped")
		return false
	}
	return true
}

// reuse takes up an image baked before, as rec records it; an image found
// by its tag is recorded again, so the next build finds it in the cache.
func (b *builder) reuse(ctx context.Context, n *node, rec *cache.Record) bool {
	t := n.out.Target
	n.record = rec
	n.out.Images = maps.Clone(rec.Images)
	home := n.out.Images[b.home]
	// The image exists whether or not it can be recorded: children may
	// start from it either way.
	defer n.ready(true, home)
	if t.Found {
		err := b.record(ctx, n, func(r *cache.Record) {
			r.Platform, r.RunID, r.Created = b.a.Platform.Name(), b.opt.RunID, b.opt.Now().UTC()
			r.Unpublished = true // given its distribution again below
		})
		if err != nil {
			b.fail(n, EventBake, b.home, fmt.Errorf("recording the image found by its tag: %w", err))
			return false
		}
	}
	if n.out.Action == ActionCached {
		// Before any child starts, so the events read in order.
		b.emit(Event{Type: EventCached, Label: t.Image.Label.String(), Key: t.Key.Hex, Image: home})
	}
	return true
}

// skip marks the image's work as not done, once however many of its
// regions stop.
func (b *builder) skip(n *node, why string) {
	n.mu.Lock()
	already := n.out.Action == ActionSkipped
	n.out.Action = ActionSkipped
	n.out.Reason = why
	n.mu.Unlock()
	if !already {
		b.emit(Event{Type: EventSkip, Label: n.out.Target.Image.Label.String(), Key: n.out.Target.Key.Hex, Error: why})
	}
}

// fail records a failure and, without --keep-going, stops the build.
func (b *builder) fail(n *node, action string, region string, err error) {
	n.mu.Lock()
	n.failures = append(n.failures, err)
	n.out.Err = errors.Join(n.failures...)
	n.mu.Unlock()
	b.emit(Event{Type: EventFail, Label: n.out.Target.Image.Label.String(), Key: n.out.Target.Key.Hex,
		Action: action, Region: region, Error: err.Error(), Log: n.out.Log})
	if !b.opt.KeepGoing {
		b.stop()
	}
}

// interrupted sorts work that did not finish into a failure, or, when the
// build was stopping anyway, a skip: a bake, copy or publish that Ctrl-C
// (or another image's failure) ended did not fail.
func (b *builder) interrupted(ctx context.Context, n *node, action, region string, err error) {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		b.skip(n, "the build stopped")
		// Stopped, but not quiet about what its undoing left.
		var left *bake.CleanupError
		if errors.As(err, &left) {
			b.opt.Warn("%s: %v", n.out.Target.Image.Label, left)
		}
		return
	}
	b.fail(n, action, region, err)
}

// finished counts the image done, whatever became of it, and says so.
func (b *builder) finished(n *node) {
	b.mu.Lock()
	b.done++
	done := b.done
	if n.record != nil {
		b.setManifest(n.out.Target.Image.Label.String(), manifestEntry(n.record, n.out.Images))
	}
	b.mu.Unlock()
	b.emit(Event{Type: EventImageDone, Label: n.out.Target.Image.Label.String(), Key: n.out.Target.Key.Hex, Done: done, Total: b.total})
}

// record applies change to a copy of the image's record, writes it to the
// cache and the manifest at once (a killed build loses no finished work),
// and, once written, makes it the image's record. A record the cache gave
// as a summary gets its Inputs back: they are the key's parts.
func (b *builder) record(ctx context.Context, n *node, change func(rec *cache.Record)) error {
	n.recording.Lock()
	defer n.recording.Unlock()
	n.mu.Lock()
	rec := &cache.Record{}
	if n.record != nil {
		*rec = *n.record
	}
	change(rec)
	images := maps.Clone(rec.Images)
	n.mu.Unlock()
	if t := n.out.Target; len(rec.Inputs) == 0 && rec.Key == t.Key.Hex {
		inputs, err := json.Marshal(t.Key.Parts)
		if err != nil {
			return fmt.Errorf("recording in the cache: %w", err)
		}
		rec.Inputs = inputs
	}
	pctx, cancel := storeContext(ctx)
	defer cancel()
	if err := b.opt.Store.Put(pctx, rec); err != nil {
		return fmt.Errorf("recording in the cache: %w", err)
	}
	n.mu.Lock()
	n.record = rec
	n.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setManifest(n.out.Target.Image.Label.String(), manifestEntry(rec, images))
	return b.writeManifestLocked()
}

// bake bakes the image in the home region and records it at once. It
// reports whether the image now exists there.
func (b *builder) bake(ctx context.Context, n *node) bool {
	t := n.out.Target
	lbl := t.Image.Label.String()
	if b.opt.Locker != nil {
		unlock, err := b.opt.Locker.Lock(ctx, t.Key.Hex)
		if err != nil {
			b.interrupted(ctx, n, EventBake, b.home, err)
			return false
		}
		defer unlock()
		// Another build may have baked this key while we waited for it;
		// its record is trusted as the plan trusts one, once its images
		// are seen.
		recs, err := b.opt.Store.Get(ctx, []string{t.Key.Hex})
		if rec := recs[t.Key.Hex]; err == nil && rec != nil && b.usable(ctx, rec) {
			if t.Key.Tests != "" && rec.Tested != t.Key.Tests {
				n.out.Action = ActionTest
				n.out.Reason = "baked by another build at the same time, which did not pass these tests"
				return b.retest(ctx, n, rec)
			}
			n.out.Action = ActionCached
			n.out.Reason = "baked by another build at the same time"
			return b.reuse(ctx, n, rec)
		}
	}
	if !b.takeSlot(ctx, n, EventBake) {
		return false
	}
	// The slot is held until the bake is recorded and reported, so the
	// events never show more than --jobs bakes at once.
	defer func() { <-b.slots }()
	id, err := b.bakeInSlot(ctx, n)
	if err != nil {
		b.interrupted(ctx, n, EventBake, b.home, err)
		return false
	}
	err = b.record(ctx, n, func(rec *cache.Record) {
		*rec = cache.Record{
			Key: t.Key.Hex, Label: lbl, Platform: b.a.Platform.Name(),
			Images: map[string]string{b.home: id}, RunID: b.opt.RunID, Created: b.opt.Now().UTC(),
			Tested:      t.Key.Tests, // the bake returned the image once they passed
			Unpublished: true,
		}
	})
	if err != nil {
		b.fail(n, EventBake, b.home, fmt.Errorf("recording the bake: %w", err))
		return false
	}
	n.out.Images = map[string]string{b.home: id}
	b.keepLog(ctx, n)
	// Finished before any child starts, so the events read in order.
	b.emit(Event{Type: EventFinish, Label: lbl, Key: t.Key.Hex, Action: EventBake, Region: b.home, Image: id,
		Log: n.out.Log, ElapsedMS: b.opt.Now().Sub(n.started).Milliseconds()})
	n.ready(true, id)
	return true
}

// takeSlot waits for one of the --jobs slots, and says whether it got one;
// the caller gives it back.
func (b *builder) takeSlot(ctx context.Context, n *node, action string) bool {
	select {
	case b.slots <- struct{}{}:
		n.started = b.opt.Now()
		return true
	case <-ctx.Done():
		b.interrupted(ctx, n, action, b.home, ctx.Err())
		return false
	}
}

// retest runs the tests of an image baked before, as rec records it, and
// records that it passed them. Its children start once it has: an image
// that fails its tests is no parent. The image itself stays whatever the
// outcome: it was baked and kept by an earlier run, and may be in use.
func (b *builder) retest(ctx context.Context, n *node, rec *cache.Record) bool {
	t := n.out.Target
	lbl := t.Image.Label.String()
	n.out.Images = maps.Clone(rec.Images)
	home := n.out.Images[b.home]
	if !b.takeSlot(ctx, n, EventTest) {
		return false
	}
	defer func() { <-b.slots }()
	if err := b.testInSlot(ctx, n, home); err != nil {
		b.interrupted(ctx, n, EventTest, b.home, err)
		return false
	}
	// Recording it makes it its label's latest: when that moves the label
	// from another key, what follows the label (an SSM parameter, launch
	// templates) must follow too, if not in this build then the next.
	latest, err := b.opt.Store.Latest(ctx, lbl)
	moved := err != nil || latest == nil || latest.Key != t.Key.Hex
	// Only now is it this build's image: one that failed its tests is in
	// no manifest.
	n.mu.Lock()
	n.record = rec
	n.mu.Unlock()
	err = b.record(ctx, n, func(r *cache.Record) {
		r.Tested = t.Key.Tests
		r.Unpublished = r.Unpublished || moved || t.Found
		if t.Found {
			r.Platform, r.RunID, r.Created = b.a.Platform.Name(), b.opt.RunID, b.opt.Now().UTC()
		}
	})
	if err != nil {
		b.fail(n, EventTest, b.home, fmt.Errorf("recording the tests' outcome: %w", err))
		return false
	}
	b.keepLog(ctx, n)
	b.emit(Event{Type: EventFinish, Label: lbl, Key: t.Key.Hex, Action: EventTest, Region: b.home, Image: home,
		Log: n.out.Log, ElapsedMS: b.opt.Now().Sub(n.started).Milliseconds()})
	n.ready(true, home)
	return true
}

// testInSlot has the platform run the image's tests on a fresh instance
// of id.
func (b *builder) testInSlot(ctx context.Context, n *node, id string) error {
	t := n.out.Target
	im := t.Image
	lbl := im.Label.String()
	env, secrets, missing := bake.TestEnvironment(im, b.opt.Secret)
	if len(missing) > 0 {
		return missingSecrets(lbl, missing)
	}
	log, done, err := b.openLog(n, EventTest, id, secrets)
	if err != nil {
		return err
	}
	defer done()
	return b.opt.Baker.Test(ctx, &bake.TestJob{
		Image: im, Key: t.Key.Hex, RunID: b.opt.RunID, Region: b.home, ID: id, Env: env, Log: log,
		Phase: func(phase string) {
			b.emit(Event{Type: EventPhase, Label: lbl, Key: t.Key.Hex, Action: EventTest, Region: b.home, Phase: phase})
		},
	})
}

// openLog opens the log of the image's bake or test (a test-only run
// writes the test's where the bake's was) and says the action starts; the
// log masks secrets. done closes it.
func (b *builder) openLog(n *node, action, image string, secrets []string) (log *Redactor, done func(), err error) {
	im := n.out.Target.Image
	logPath := filepath.Join(b.opt.OutDir, "logs", filepath.FromSlash(im.Label.Pkg), im.Label.Name+".log")
	n.out.Log = logPath
	b.emit(Event{Type: EventStart, Label: im.Label.String(), Key: n.out.Target.Key.Hex, Action: action, Region: b.home, Image: image, Log: logPath})
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	log = NewRedactor(f, secrets)
	return log, func() {
		log.Flush()
		f.Close()
	}, nil
}

// union is the names in a or b, sorted, each once.
func union(a, b []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(slices.Concat(a, b))))
}

// missingSecrets is the error of an image that needs secret_env variables
// imgraph's environment lacks.
func missingSecrets(lbl string, missing []string) error {
	e := &MissingSecretsError{Missing: map[string][]string{}}
	for _, name := range missing {
		e.Missing[name] = []string{lbl}
	}
	return e
}

// usable reports whether every image rec names exists.
func (b *builder) usable(ctx context.Context, rec *cache.Record) bool {
	gone, err := missingImages(ctx, map[string]*cache.Record{rec.Key: rec}, b.opt.Baker)
	return err == nil && gone[rec.Key] == ""
}

// bakeInSlot makes the image's job (its log, source, artifacts and
// environment) and has the platform bake it.
func (b *builder) bakeInSlot(ctx context.Context, n *node) (string, error) {
	t := n.out.Target
	im := t.Image
	lbl := im.Label.String()
	env, secrets, missing := bake.Environment(im, b.opt.Secret)
	testEnv, testSecrets, testMissing := bake.TestEnvironment(im, b.opt.Secret)
	if missing = union(missing, testMissing); len(missing) > 0 {
		return "", missingSecrets(lbl, missing)
	}
	log, done, err := b.openLog(n, EventBake, "", slices.Concat(secrets, testSecrets))
	if err != nil {
		return "", err
	}
	defer done()
	job := &bake.Job{
		Image: im, Key: t.Key.Hex, Platform: b.a.Platform.Name(), RunID: b.opt.RunID, Region: b.home,
		SourceID: t.SourceID, Source: im.Source, Env: env, TestEnv: testEnv, Tags: bake.ImageTags(im, t.Key.Hex), Log: log,
		Phase: func(phase string) {
			b.emit(Event{Type: EventPhase, Label: lbl, Key: t.Key.Hex, Action: EventBake, Region: b.home, Phase: phase})
		},
	}
	switch {
	case !im.Parent.IsZero():
		job.Parent = b.nodes[im.Parent].homeID
	case im.Source.File != nil:
		job.SourceFile = im.Source.File.Path
	case im.Source.URL != "":
		if job.SourceFile, err = b.opt.Fetcher.FetchWithProgress(ctx, im.Source.URL, im.Source.SHA256, fetching(job.Phase, "the root filesystem")); err != nil {
			return "", err
		}
	}
	if len(im.Artifacts) > 0 {
		job.Artifacts = map[string]string{}
		for _, art := range im.Artifacts {
			p, err := b.opt.Fetcher.FetchWithProgress(ctx, art.URL, art.SHA256, fetching(job.Phase, art.Name))
			if err != nil {
				return "", fmt.Errorf("artifact %q: %w", art.Name, err)
			}
			job.Artifacts[art.Name] = p
		}
	}
	return b.opt.Baker.Bake(ctx, job)
}

// fetching reports a download's progress as the bake's phase: "fetching
// app.jar: 12.0 MiB of 40.0 MiB, 3.1 MiB/s". The first report comes at
// once, so a download shows before its first bytes.
func fetching(phase func(string), what string) func(Progress) {
	return func(p Progress) {
		of := ""
		if p.Total >= 0 {
			of = " of " + Bytes(p.Total)
		}
		phase(fmt.Sprintf("fetching %s: %s%s, %s/s", what, Bytes(p.Done), of, Bytes(int64(p.Rate))))
	}
}

// Bytes is n bytes for people: "512 B", "1.5 KiB", "3.2 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// keepLog uploads the bake's (masked) log beside its record, where the
// store keeps logs; a log that cannot be kept is worth a warning, not a
// failed bake.
func (b *builder) keepLog(ctx context.Context, n *node) {
	ls, ok := b.opt.Store.(LogStore)
	if !ok || n.out.Log == "" {
		return
	}
	f, err := os.Open(n.out.Log)
	if err == nil {
		defer f.Close()
		pctx, cancel := storeContext(ctx)
		defer cancel()
		err = ls.PutLog(pctx, n.out.Target.Key.Hex, f)
	}
	if err != nil {
		b.opt.Warn("%s: keeping the log in the cache: %v", n.out.Target.Image.Label, err)
	}
}

// storeTimeout bounds writing a record or a log to the cache.
const storeTimeout = 2 * time.Minute

// storeContext is the context to write what a bake made to the cache in:
// not cancelled with ctx, since an image baked before Ctrl-C should still
// be recorded, but bounded, and ended by the second Ctrl-C (ctx's hurry),
// as a cleanup's waits are.
func storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	if hurry := bake.Hurry(ctx); hurry != nil {
		go func() {
			select {
			case <-hurry:
				cancel()
			case <-sctx.Done():
			}
		}()
	}
	return sctx, cancel
}

// MissingSecretsError lists the secret_env variables a build needs that
// imgraph's environment lacks.
type MissingSecretsError struct {
	Missing map[string][]string // variable -> the images that need it
}

func (e *MissingSecretsError) Error() string {
	var b strings.Builder
	b.WriteString("secret_env variables are not set in imgraph's environment:")
	for _, name := range slices.Sorted(maps.Keys(e.Missing)) {
		fmt.Fprintf(&b, "\n  %s (needed by %s)", name, strings.Join(e.Missing[name], ", "))
	}
	b.WriteString("\n  hint: export them before the build; their values are never logged, hashed or stored")
	return b.String()
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *MissingSecretsError) BadInput() bool { return true }

// CheckSecrets reports, before anything bakes, every secret_env variable
// the images the plan bakes need and lookup cannot find.
func CheckSecrets(p *Plan, lookup func(string) (string, bool)) error {
	missing := map[string][]string{}
	for _, t := range p.Targets {
		var names []string
		if t.Action == ActionBake {
			_, _, names = bake.Environment(t.Image, lookup)
		}
		if t.Action == ActionBake || t.Action == ActionTest {
			_, _, tests := bake.TestEnvironment(t.Image, lookup)
			names = union(names, tests)
		}
		for _, name := range names {
			missing[name] = append(missing[name], t.Image.Label.String())
		}
	}
	if len(missing) > 0 {
		return &MissingSecretsError{Missing: missing}
	}
	return nil
}

// distribute copies the image to every wanted region it is missing from
// and publishes its distribution in each, all regions at once, recording
// each copy as it lands.
func (b *builder) distribute(ctx context.Context, n *node) {
	t := n.out.Target
	im := t.Image
	tags := bake.ImageTags(im, t.Key.Hex)
	want := b.a.Platform.Distribution(bake.Want(im))
	var wg sync.WaitGroup
	for _, region := range im.Regions {
		wg.Go(func() {
			n.mu.Lock()
			id := n.out.Images[region]
			n.mu.Unlock()
			if id == "" {
				var ok bool
				if id, ok = b.copy(ctx, n, region, tags); !ok {
					return
				}
			}
			action := publishAction(t.Action)
			start := b.opt.Now()
			b.emit(Event{Type: EventStart, Label: im.Label.String(), Key: t.Key.Hex, Action: action, Region: region, Image: id})
			err := b.opt.Baker.Publish(ctx, &bake.PublishJob{Image: im, ID: id, Region: region, Tags: tags, Distribution: want})
			if err != nil {
				b.interrupted(ctx, n, action, region, fmt.Errorf("publishing in %s: %w", region, err))
				return
			}
			b.emit(Event{Type: EventFinish, Label: im.Label.String(), Key: t.Key.Hex, Action: action, Region: region, Image: id,
				ElapsedMS: b.opt.Now().Sub(start).Milliseconds()})
		})
	}
	wg.Wait()
	if n.out.Err != nil || ctx.Err() != nil {
		return
	}
	// What was published is what the next plan compares against.
	err := b.record(ctx, n, func(rec *cache.Record) {
		rec.Images = maps.Clone(n.out.Images)
		setDistribution(rec, want)
		rec.Unpublished = false
	})
	if err != nil {
		b.fail(n, EventPublish, b.home, err)
	}
}

// publishAction names what publishing in a region does for an image
// planned to action: a new image (baked or copied) is published; one baked
// before is retagged, or shared.
func publishAction(action Action) string {
	switch action {
	case ActionRetag:
		return EventRetag
	case ActionShare:
		return EventShare
	}
	return EventPublish
}

// copy copies the image from the home region to region, and records the
// copy at once, so a killed build still knows it exists.
func (b *builder) copy(ctx context.Context, n *node, region string, tags map[string]string) (string, bool) {
	t := n.out.Target
	lbl := t.Image.Label.String()
	start := b.opt.Now()
	b.emit(Event{Type: EventStart, Label: lbl, Key: t.Key.Hex, Action: EventCopy, Region: region})
	id, err := b.opt.Baker.Copy(ctx, &bake.CopyJob{Image: t.Image, Key: t.Key.Hex, RunID: b.opt.RunID,
		ID: n.homeID, From: b.home, To: region, Tags: tags,
		Phase: func(phase string) {
			b.emit(Event{Type: EventPhase, Label: lbl, Key: t.Key.Hex, Action: EventCopy, Region: region, Phase: phase})
		}})
	if err != nil {
		b.interrupted(ctx, n, EventCopy, region, fmt.Errorf("copying to %s: %w", region, err))
		return "", false
	}
	n.mu.Lock()
	n.out.Images[region] = id
	n.mu.Unlock()
	err = b.record(ctx, n, func(rec *cache.Record) {
		rec.Images = maps.Clone(rec.Images)
		rec.Images[region] = id
		rec.Unpublished = true // published below, in every region at once
	})
	if err != nil {
		b.fail(n, EventCopy, region, fmt.Errorf("recording the copy: %w", err))
		return "", false
	}
	b.emit(Event{Type: EventFinish, Label: lbl, Key: t.Key.Hex, Action: EventCopy, Region: region,
		Image: id, ElapsedMS: b.opt.Now().Sub(start).Milliseconds()})
	return id, true
}
