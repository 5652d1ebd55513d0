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
	"github.com/imgraph/imgraph/rules"
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
	RunID     string
	Baker     bake.Baker
	Store     Store
	Locker    KeyLocker // nil: no other process shares the cache
	Observer  Observer  // nil: no events
	OutDir    string    // imgraph-out: logs and the manifest
	Fetcher   *Fetcher
	Secret    func(name string) (string, bool)
	Now       func() time.Time                 // nil: time.Now
	Warn      func(format string, args ...any) // nil: warnings are dropped
}

// Outcome is what a build did with one image.
type Outcome struct {
	Target  *Target
	Action  Action            // what happened: bake, copy, share, retag, cached or skipped
	Images  map[string]string // region -> image id, after the build
	Err     error             // why it failed
	Reason  string            // why it was skipped, or reused
	Log     string            // the bake's log, relative to the workspace
	Elapsed time.Duration     // from the start of the work (a bake's, once it has a slot) to its end
	started time.Time         // when the bake took its slot

	home     chan struct{} // closed once the image exists in the home region (or never will)
	homeOK   bool          // set before home is closed: the image exists there
	homeID   string        // set before home is closed: its id there
	mu       sync.Mutex
	record   *cache.Record
	failures []error
}

// Report is what a build did, in graph order.
type Report struct {
	Outcomes []*Outcome
	Failed   int
	Skipped  int
}

// BuildError says a build finished with failed images (exit code 1).
type BuildError struct{ Failed, Skipped int }

func (e *BuildError) Error() string {
	return fmt.Sprintf("%d %s failed, %d skipped", e.Failed, plural(e.Failed, "image", "images"), e.Skipped)
}

// BakeFailed marks the error as a failed bake rather than bad input.
func (e *BuildError) BakeFailed() bool { return true }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

type builder struct {
	opt      BuildOptions
	a        *Analysis
	home     string
	platform string
	slots    chan struct{}
	outcomes map[label.Label]*Outcome
	stop     context.CancelFunc // stops the build after a failure without --keep-going

	mu       sync.Mutex
	done     int
	total    int
	manifest *Manifest
}

// Build carries out a plan: it bakes in dependency order with opt.Jobs
// bakes at once, starting each child as soon as its parent exists in the
// home region, and copies and publishes beside the bakes. Every finished
// bake is recorded in the cache at once. It returns a *BuildError when
// images failed, and ctx's error when ctx was cancelled.
func Build(ctx context.Context, a *Analysis, p *Plan, opt BuildOptions) (*Report, error) {
	if opt.Jobs < 1 {
		opt.Jobs = 1
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Observer == nil {
		opt.Observer = ObserverFunc(func(Event) {})
	}
	b := &builder{
		opt:      opt,
		a:        a,
		home:     a.Result.Workspace.HomeRegion,
		platform: a.Result.Platform,
		slots:    make(chan struct{}, opt.Jobs),
		outcomes: make(map[label.Label]*Outcome, len(p.Targets)),
		total:    len(p.Targets),
		manifest: &Manifest{RunID: opt.RunID, Platform: a.Result.Platform, Images: map[string]ManifestEntry{}},
	}
	report := &Report{}
	for _, t := range p.Targets {
		o := &Outcome{Target: t, Action: t.Action, Images: map[string]string{}, home: make(chan struct{})}
		b.outcomes[t.Image.Label] = o
		report.Outcomes = append(report.Outcomes, o)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	b.stop = stop
	b.emit(Event{Type: EventBuildStart, Total: b.total})

	var wg sync.WaitGroup
	for _, o := range report.Outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.run(runCtx, o)
		}()
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
	if err := b.writeManifest(); err != nil {
		return report, err
	}
	b.emit(Event{Type: EventBuildFinish, Done: b.done, Total: b.total})
	if ctx.Err() != nil {
		return report, ctx.Err()
	}
	if report.Failed > 0 {
		return report, &BuildError{Failed: report.Failed, Skipped: report.Skipped}
	}
	return report, nil
}

func (b *builder) emit(e Event) {
	e.Time = b.opt.Now()
	b.opt.Observer.Event(e)
}

// run takes one image through its action once its parent is ready.
func (b *builder) run(ctx context.Context, o *Outcome) {
	t := o.Target
	im := t.Image
	defer b.finished(o)
	defer closeOnce(o)
	if !im.Parent.IsZero() {
		if po := b.outcomes[im.Parent]; po != nil {
			// homeOK may be read only once home is closed.
			select {
			case <-po.home:
				if !po.homeOK {
					b.skip(o, fmt.Sprintf("parent %s failed", im.Parent))
					return
				}
			case <-ctx.Done():
				b.skip(o, "the build stopped")
				return
			}
		}
	}
	if ctx.Err() != nil {
		b.skip(o, "the build stopped")
		return
	}
	start := b.opt.Now()
	switch t.Action {
	case ActionCached:
		o.record = t.Record
		o.Images = maps.Clone(t.Record.Images)
		o.homeOK, o.homeID = true, o.Images[b.home]
		closeOnce(o)
		if t.Found {
			if !b.recordFound(ctx, o) {
				return
			}
		}
		b.emit(Event{Type: EventCached, Label: im.Label.String(), Key: t.Key.Hex, Image: o.Images[b.home]})
	case ActionBake:
		if !b.bake(ctx, o) {
			return
		}
		b.distribute(ctx, o)
	default:
		o.record = t.Record
		o.Images = maps.Clone(t.Record.Images)
		o.homeOK, o.homeID = true, o.Images[b.home]
		closeOnce(o)
		if t.Found && !b.recordFound(ctx, o) {
			return
		}
		b.distribute(ctx, o)
	}
	if !o.started.IsZero() {
		start = o.started // waiting for a slot is not baking
	}
	o.Elapsed = b.opt.Now().Sub(start)
}

// recordFound writes the record of an image found by its tag, so the
// next build finds it in the cache.
func (b *builder) recordFound(ctx context.Context, o *Outcome) bool {
	rec := *o.record
	rec.Platform, rec.RunID, rec.Created = b.platform, b.opt.RunID, b.opt.Now().UTC()
	o.record = &rec
	if err := b.opt.Store.Put(context.WithoutCancel(ctx), &rec); err != nil {
		b.fail(o, "bake", b.home, fmt.Errorf("recording the image found by its tag: %w", err))
		return false
	}
	return true
}

func closeOnce(o *Outcome) {
	select {
	case <-o.home:
	default:
		close(o.home)
	}
}

func (b *builder) skip(o *Outcome, why string) {
	o.Action = ActionSkipped
	o.Reason = why
	b.emit(Event{Type: EventSkip, Label: o.Target.Image.Label.String(), Key: o.Target.Key.Hex, Error: why})
}

// fail records a failure and, without --keep-going, stops the build.
func (b *builder) fail(o *Outcome, action string, region string, err error) {
	o.mu.Lock()
	o.failures = append(o.failures, err)
	o.Err = errors.Join(o.failures...)
	o.mu.Unlock()
	b.emit(Event{Type: EventFail, Label: o.Target.Image.Label.String(), Key: o.Target.Key.Hex,
		Action: action, Region: region, Error: err.Error(), Log: o.Log})
	if !b.opt.KeepGoing {
		b.stop()
	}
}

func (b *builder) finished(o *Outcome) {
	b.mu.Lock()
	b.done++
	if o.record != nil {
		b.manifest.Images[o.Target.Image.Label.String()] = ManifestEntry{Key: o.Target.Key.Hex, Images: maps.Clone(o.Images)}
	}
	b.mu.Unlock()
}

// bake bakes the image in the home region and records it at once. It
// reports whether the image now exists there.
func (b *builder) bake(ctx context.Context, o *Outcome) bool {
	t := o.Target
	im := t.Image
	lbl := im.Label.String()
	if b.opt.Locker != nil {
		unlock, err := b.opt.Locker.Lock(ctx, t.Key.Hex)
		if err != nil {
			b.interrupted(ctx, o, "bake", err)
			return false
		}
		defer unlock()
		// Another build may have baked this key while we waited for it.
		recs, err := b.opt.Store.Get(ctx, []string{t.Key.Hex})
		if err == nil && recs[t.Key.Hex] != nil {
			o.record = recs[t.Key.Hex]
			o.Images = maps.Clone(o.record.Images)
			o.Action = ActionCached
			o.Reason = "baked by another build at the same time"
			o.homeOK, o.homeID = true, o.Images[b.home]
			closeOnce(o)
			b.emit(Event{Type: EventCached, Label: lbl, Key: t.Key.Hex, Image: o.Images[b.home]})
			return true
		}
	}
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		b.interrupted(ctx, o, "bake", ctx.Err())
		return false
	}
	// The slot is held until the bake is recorded and reported, so the
	// events never show more than --jobs bakes at once.
	defer func() { <-b.slots }()
	start := b.opt.Now()
	o.started = start
	id, err := b.bakeInSlot(ctx, o)
	if err != nil {
		b.interrupted(ctx, o, "bake", err)
		return false
	}
	rec := &cache.Record{
		Key: t.Key.Hex, Label: lbl, Platform: b.platform,
		Images: map[string]string{b.home: id}, RunID: b.opt.RunID, Created: b.opt.Now().UTC(),
	}
	if rec.Inputs, err = json.Marshal(t.Key.Parts); err != nil {
		b.fail(o, "bake", b.home, err)
		return false
	}
	o.record = rec
	if err := b.opt.Store.Put(context.WithoutCancel(ctx), rec); err != nil {
		b.fail(o, "bake", b.home, fmt.Errorf("recording the bake in the cache: %w", err))
		return false
	}
	b.keepLog(ctx, o)
	o.Images = map[string]string{b.home: id}
	b.mu.Lock()
	b.manifest.Images[lbl] = ManifestEntry{Key: t.Key.Hex, Images: maps.Clone(o.Images)}
	merr := b.writeManifestLocked()
	b.mu.Unlock()
	if merr != nil {
		b.fail(o, "bake", b.home, merr)
	}
	// Finished before any child starts, so the events read in order.
	b.emit(Event{Type: EventFinish, Label: lbl, Key: t.Key.Hex, Action: "bake", Region: b.home, Image: id,
		Log: o.Log, ElapsedMS: b.opt.Now().Sub(start).Milliseconds()})
	o.homeOK, o.homeID = true, id
	closeOnce(o)
	return true
}

// interrupted sorts a bake that did not finish into a failure, or, when
// the build was stopping anyway, a skip.
func (b *builder) interrupted(ctx context.Context, o *Outcome, action string, err error) {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		b.skip(o, "the build stopped")
		return
	}
	b.fail(o, action, b.home, err)
}

func (b *builder) bakeInSlot(ctx context.Context, o *Outcome) (string, error) {
	t := o.Target
	im := t.Image
	lbl := im.Label.String()
	job := &bake.Job{
		Image: im, Key: t.Key.Hex, RunID: b.opt.RunID, Region: b.home,
		Secret: b.opt.Secret,
		Tags:   b.tags(t),
		Phase: func(phase string) {
			b.emit(Event{Type: EventPhase, Label: lbl, Key: t.Key.Hex, Action: "bake", Region: b.home, Phase: phase})
		},
	}
	logPath := filepath.Join(b.opt.OutDir, "logs", filepath.FromSlash(im.Label.Pkg), im.Label.Name+".log")
	o.Log = logPath
	b.emit(Event{Type: EventStart, Label: lbl, Key: t.Key.Hex, Action: "bake", Region: b.home, Log: logPath})
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return "", err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	secrets, err := b.secrets(im)
	if err != nil {
		return "", err
	}
	log := NewRedactor(logFile, secrets)
	defer log.Flush()
	job.Log = log
	if im.Parent.IsZero() {
		job.Source = im.Source
		switch {
		case im.Source.File != nil:
			job.SourceFile = im.Source.File.Path
		case im.Source.URL != "":
			if job.SourceFile, err = b.opt.Fetcher.Fetch(ctx, im.Source.URL, im.Source.SHA256); err != nil {
				return "", err
			}
		default:
			job.SourceID = t.Key.part("source").Value // the resolved id
		}
	} else {
		job.Parent = b.outcomes[im.Parent].homeID
	}
	if len(im.Artifacts) > 0 {
		job.Artifacts = map[string]string{}
		for _, art := range im.Artifacts {
			p, err := b.opt.Fetcher.Fetch(ctx, art.URL, art.SHA256)
			if err != nil {
				return "", fmt.Errorf("artifact %q: %w", art.Name, err)
			}
			job.Artifacts[art.Name] = p
		}
	}
	id, err := b.opt.Baker.Bake(ctx, job)
	if err != nil {
		return "", err
	}
	return id, nil
}

// keepLog uploads the bake's (masked) log beside its record, where the
// store keeps logs; a log that cannot be kept is worth a warning, not a
// failed bake.
func (b *builder) keepLog(ctx context.Context, o *Outcome) {
	ls, ok := b.opt.Store.(LogStore)
	if !ok || o.Log == "" {
		return
	}
	f, err := os.Open(o.Log)
	if err == nil {
		defer f.Close()
		err = ls.PutLog(context.WithoutCancel(ctx), o.Target.Key.Hex, f)
	}
	if err != nil && b.opt.Warn != nil {
		b.opt.Warn("%s: keeping the log in the cache: %v", o.Target.Image.Label, err)
	}
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
		if t.Action != ActionBake {
			continue
		}
		for _, pr := range t.Image.Provision {
			for _, name := range pr.SecretEnv {
				if _, ok := lookup(name); !ok && !slices.Contains(missing[name], t.Image.Label.String()) {
					missing[name] = append(missing[name], t.Image.Label.String())
				}
			}
		}
	}
	if len(missing) > 0 {
		return &MissingSecretsError{Missing: missing}
	}
	return nil
}

// secrets looks up every secret_env value the image's provisioners need;
// a missing one fails the bake before anything starts.
func (b *builder) secrets(im *rules.Image) ([]string, error) {
	var values []string
	for _, p := range im.Provision {
		for _, name := range p.SecretEnv {
			v, ok := "", false
			if b.opt.Secret != nil {
				v, ok = b.opt.Secret(name)
			}
			if !ok {
				return nil, fmt.Errorf("secret_env %s is not set in imgraph's environment", name)
			}
			values = append(values, v)
		}
	}
	return values, nil
}

// tags are every tag an image carries.
func (b *builder) tags(t *Target) map[string]string {
	tags := WantTags(t.Image)
	if tags == nil {
		tags = map[string]string{}
	}
	tags["imgraph:key"] = t.Key.Hex
	tags["imgraph:label"] = t.Image.Label.String()
	return tags
}

// distribute copies the image to every wanted region it is missing from
// and publishes its distribution in each, all regions at once, recording
// each copy as it lands.
func (b *builder) distribute(ctx context.Context, o *Outcome) {
	t := o.Target
	im := t.Image
	homeID := o.homeID
	tags := b.tags(t)
	var wg sync.WaitGroup
	for _, region := range im.Regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.mu.Lock()
			id := o.Images[region]
			o.mu.Unlock()
			if id == "" {
				start := b.opt.Now()
				b.emit(Event{Type: EventStart, Label: im.Label.String(), Key: t.Key.Hex, Action: "copy", Region: region})
				var err error
				id, err = b.opt.Baker.Copy(ctx, &bake.CopyJob{Image: im, Key: t.Key.Hex, RunID: b.opt.RunID,
					ID: homeID, From: b.home, To: region, Tags: tags,
					Phase: func(phase string) {
						b.emit(Event{Type: EventPhase, Label: im.Label.String(), Key: t.Key.Hex, Action: "copy", Region: region, Phase: phase})
					}})
				if err != nil {
					b.fail(o, "copy", region, fmt.Errorf("copying to %s: %w", region, err))
					return
				}
				if err := b.recordImage(ctx, o, region, id); err != nil {
					b.fail(o, "copy", region, err)
					return
				}
				b.emit(Event{Type: EventFinish, Label: im.Label.String(), Key: t.Key.Hex, Action: "copy", Region: region,
					Image: id, ElapsedMS: b.opt.Now().Sub(start).Milliseconds()})
			}
			if err := b.opt.Baker.Publish(ctx, &bake.PublishJob{Image: im, ID: id, Region: region, Tags: tags}); err != nil {
				b.fail(o, "publish", region, fmt.Errorf("publishing in %s: %w", region, err))
			}
		}()
	}
	wg.Wait()
	if o.Err != nil || ctx.Err() != nil {
		return
	}
	// What was published is what the next plan compares against.
	o.mu.Lock()
	rec := *o.record
	rec.Images = maps.Clone(o.Images)
	rec.Tags = WantTags(im)
	rec.ShareWith = slices.Clone(im.ShareWith)
	rec.PublishSSM = im.PublishSSM
	o.record = &rec
	o.mu.Unlock()
	if err := b.opt.Store.Put(context.WithoutCancel(ctx), &rec); err != nil {
		b.fail(o, "publish", b.home, fmt.Errorf("recording in the cache: %w", err))
	}
}

// recordImage adds a copy to the image's record and writes it at once, so
// a killed build still knows the copy exists.
func (b *builder) recordImage(ctx context.Context, o *Outcome, region, id string) error {
	o.mu.Lock()
	o.Images[region] = id
	rec := *o.record
	rec.Images = maps.Clone(o.Images)
	o.record = &rec
	o.mu.Unlock()
	if err := b.opt.Store.Put(context.WithoutCancel(ctx), &rec); err != nil {
		return fmt.Errorf("recording the copy in the cache: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.manifest.Images[o.Target.Image.Label.String()] = ManifestEntry{Key: o.Target.Key.Hex, Images: maps.Clone(rec.Images)}
	return b.writeManifestLocked()
}
