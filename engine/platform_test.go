package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/rules"
)

// fakePlatform is a platform the engine has never heard of: it bakes from
// root filesystems, puts its machine in every key, applies share_with
// alone of an image's distribution, and records every job it is given.
type fakePlatform struct {
	machine string

	mu       sync.Mutex
	bakes    []*bake.Job
	tests    []string // "label image" of every image whose tests ran
	copies   []*bake.CopyJob
	publishs []*bake.PublishJob
}

func (*fakePlatform) Name() string                   { return "fake" }
func (*fakePlatform) Accepts(src *rules.Source) bool { return src.Kind == rules.SourceRootfs }
func (*fakePlatform) CheckImageID(string) error      { return nil }
func (p *fakePlatform) KeyParts(*rules.Image) []bake.KeyPart {
	return []bake.KeyPart{{Name: "machine", Value: p.machine}}
}
func (*fakePlatform) Distribution(d bake.Distribution) bake.Distribution {
	return bake.Distribution{ShareWith: d.ShareWith}
}

func (p *fakePlatform) Bake(_ context.Context, job *bake.Job) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bakes = append(p.bakes, job)
	id := "fake-" + job.Key[:8]
	if err := p.runTests(job.Image, id); err != nil {
		return "", err // and the image is gone
	}
	return id, nil
}

// Test "runs" an image's tests: an inline test whose first command is
// "false" fails.
func (p *fakePlatform) Test(_ context.Context, job *bake.TestJob) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runTests(job.Image, job.ID)
}

func (p *fakePlatform) runTests(im *rules.Image, id string) error {
	if len(im.Tests) == 0 {
		return nil
	}
	p.tests = append(p.tests, im.Label.String()+" "+id)
	for i, t := range im.Tests {
		if len(t.Inline) > 0 && t.Inline[0] == "false" {
			return &bake.TestFailure{Test: bake.DescribeTest(i, &t), Err: errors.New("exited with status 1")}
		}
	}
	return nil
}

func (p *fakePlatform) Copy(_ context.Context, job *bake.CopyJob) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.copies = append(p.copies, job)
	return job.ID + "@" + job.To, nil
}

func (p *fakePlatform) Publish(_ context.Context, job *bake.PublishJob) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.publishs = append(p.publishs, job)
	return nil
}

func (*fakePlatform) Exist(_ context.Context, images []bake.ImageRef) (map[bake.ImageRef]bool, error) {
	return allExist(images), nil
}

func (*fakePlatform) Find(context.Context, []string, []string) (map[string]map[string]string, error) {
	return nil, nil
}

func (*fakePlatform) Resolve(context.Context, string, *rules.Source) (bake.Resolved, error) {
	return bake.Resolved{}, errors.New("the fake platform has no floating sources")
}

var _ bake.Baker = (*fakePlatform)(nil)

func fakeWorkspace(share string) map[string]string {
	return map[string]string{
		"IMAGES.star": localWorkspace,
		"base/IMAGES.star": `image(
    name = "base",
    source = rootfs(path = "rootfs"),
    provision = [shell(inline = ["true"], env = {"STAGE": "prod"}, secret_env = ["TOKEN"])],
    regions = ["eu-west-1"],
    tags = {"Team": "images"},
    share_with = [` + share + `],
)
image(name = "app", parent = ":base")
`,
		"base/rootfs/": "",
	}
}

// fakeRun analyses root for the fake platform and plans against store.
func fakeRun(t *testing.T, root string, p *fakePlatform, store engine.Store) (*engine.Analysis, *engine.Plan) {
	t.Helper()
	l := loader(t, root, rules.Config{Platform: "fake", Platforms: append(rules.Platforms(), "fake")})
	a, err := engine.Analyze(context.Background(), l, engine.AnalyzeOptions{Patterns: patterns(t), Platform: p})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := engine.MakePlan(context.Background(), a, store, p)
	if err != nil {
		t.Fatal(err)
	}
	return a, plan
}

func fakeBuild(t *testing.T, root string, a *engine.Analysis, plan *engine.Plan, p *fakePlatform, store engine.Store, secret func(string) (string, bool)) (*engine.Report, error) {
	t.Helper()
	return engine.Build(context.Background(), a, plan, engine.BuildOptions{
		Jobs: 2, RunID: "run-1", Baker: p, Store: store, OutDir: filepath.Join(root, "imgraph-out"),
		Fetcher: &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root}, Secret: secret,
	})
}

// A platform is added by implementing bake.Baker alone: the engine keys,
// plans, bakes and distributes for it without knowing its name.
func TestANewPlatformNeedsOnlyABaker(t *testing.T) {
	root := writeWorkspace(t, fakeWorkspace(`"123456789012"`))
	store := openCache(t)
	p := &fakePlatform{machine: "m1"}
	a, plan := fakeRun(t, root, p, store)

	// Keys: the platform's name and its own parts are inputs.
	key := a.Keys[lbl(t, "//base:base")]
	var own *bake.KeyPart
	for i := range key.Parts {
		if key.Parts[i].Name == "fake" {
			own = &key.Parts[i]
		}
	}
	if key.Parts[1].Value != "fake" || own == nil || len(own.Parts) != 1 || own.Parts[0].Value != "m1" {
		t.Fatalf("key parts %+v, want the platform's name and its part machine = m1", key.Parts)
	}
	other := &fakePlatform{machine: "m2"}
	if b, _ := fakeRun(t, root, other, store); b.Keys[lbl(t, "//base:app")].Hex == a.Keys[lbl(t, "//base:app")].Hex {
		t.Error("changing the platform's key part did not change the child's key")
	}

	checkPlan(t, plan, map[string]wantTarget{
		"//base:base": {engine.ActionBake, []string{"never baked"}},
		"//base:app":  {engine.ActionBake, []string{"parent //base:base rebakes"}},
	})
	secret := func(name string) (string, bool) { return "t0ken", name == "TOKEN" }
	if _, err := fakeBuild(t, root, a, plan, p, store, secret); err != nil {
		t.Fatal(err)
	}

	// Jobs: the platform, the resolved environment and every tag.
	if len(p.bakes) != 2 {
		t.Fatalf("%d bakes, want 2", len(p.bakes))
	}
	base, app := p.bakes[0], p.bakes[1]
	if base.Platform != "fake" || base.Env[0]["STAGE"] != "prod" || base.Env[0]["TOKEN"] != "t0ken" ||
		base.Tags[bake.TagKey] != base.Key || base.Tags[bake.TagLabel] != "//base:base" || base.Tags["Team"] != "images" {
		t.Errorf("base job: platform %q, env %v, tags %v", base.Platform, base.Env, base.Tags)
	}
	if base.SourceFile == "" || app.Parent != "fake-"+base.Key[:8] {
		t.Errorf("base from %q, app from %q: want the rootfs, and the base's image", base.SourceFile, app.Parent)
	}
	// Distribution: copies to the wanted region, and only what the
	// platform applies is published.
	if len(p.copies) != 1 || p.copies[0].To != "eu-west-1" || p.copies[0].Image.Label.Name != "base" {
		t.Errorf("%d copies, want the base's to eu-west-1", len(p.copies))
	}
	for _, pub := range p.publishs {
		if pub.Image.Label.Name == "base" && !slices.Equal(pub.Distribution.ShareWith, []string{"123456789012"}) || pub.Distribution.Tags != nil {
			t.Errorf("published %+v, want share_with alone", pub.Distribution)
		}
	}

	// Tags are not the platform's: changing them changes nothing here;
	// share_with is, and shares again.
	writeFile(t, root, "base/IMAGES.star", strings.Replace(fakeWorkspace(`"123456789012"`)["base/IMAGES.star"], `"images"`, `"platform"`, 1))
	_, plan = fakeRun(t, root, p, store)
	checkPlan(t, plan, map[string]wantTarget{"//base:base": {engine.ActionCached, nil}, "//base:app": {engine.ActionCached, nil}})
	writeFile(t, root, "base/IMAGES.star", fakeWorkspace(`"210987654321"`)["base/IMAGES.star"])
	_, plan = fakeRun(t, root, p, store)
	checkPlan(t, plan, map[string]wantTarget{"//base:base": {engine.ActionShare, []string{"share_with changed"}}})
}

// A bake whose secret is missing fails before the platform is asked,
// even when the check before the build was skipped.
func TestBakeWithAMissingSecretNeverReachesThePlatform(t *testing.T) {
	root := writeWorkspace(t, fakeWorkspace(""))
	store := openCache(t)
	p := &fakePlatform{machine: "m1"}
	a, plan := fakeRun(t, root, p, store)
	if err := engine.CheckSecrets(plan, func(string) (string, bool) { return "", false }); err == nil ||
		!strings.Contains(err.Error(), "TOKEN (needed by //base:base)") {
		t.Errorf("CheckSecrets = %v, want TOKEN needed by //base:base", err)
	}
	report, err := fakeBuild(t, root, a, plan, p, store, nil)
	var be *engine.BuildError
	if !errors.As(err, &be) || report.Outcomes[0].Err == nil || !strings.Contains(report.Outcomes[0].Err.Error(), "TOKEN") {
		t.Fatalf("Build = %v, want //base:base failed naming TOKEN", err)
	}
	if len(p.bakes) != 0 {
		t.Errorf("the platform baked %d images", len(p.bakes))
	}
}

// stallingStore is a cache whose writes hang until their context ends.
type stallingStore struct {
	engine.Store
	putting chan context.Context // each Put's context, as it starts
}

func (s *stallingStore) Put(ctx context.Context, _ *cache.Record) error {
	s.putting <- ctx
	<-ctx.Done()
	return ctx.Err()
}

// A cache that hangs while a baked image is recorded holds the build
// through the first Ctrl-C (which must not lose the record) but not the
// second; an image that could not be recorded is not in the manifest.
func TestAStalledRecordEndsAtTheSecondCtrlC(t *testing.T) {
	root := writeWorkspace(t, fakeWorkspace(""))
	store := &stallingStore{Store: openCache(t), putting: make(chan context.Context, 1)}
	p := &fakePlatform{machine: "m1"}
	a, plan := fakeRun(t, root, p, store)
	hurry := make(chan struct{})
	ctx, cancel := context.WithCancel(bake.WithHurry(context.Background(), hurry))
	defer cancel()
	built := make(chan error, 1)
	go func() {
		_, err := engine.Build(ctx, a, plan, engine.BuildOptions{
			Jobs: 1, RunID: "run-1", Baker: p, Store: store, OutDir: filepath.Join(root, "imgraph-out"),
			Fetcher: &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root},
			Secret:  func(string) (string, bool) { return "t0ken", true },
		})
		built <- err
	}()
	put := <-store.putting
	cancel() // Ctrl-C
	if err := put.Err(); err != nil {
		t.Fatalf("the first Ctrl-C ended the record's write: %v", err)
	}
	close(hurry) // Ctrl-C again
	if err := <-built; err == nil {
		t.Fatal("Build succeeded without recording the image")
	}
	m, err := engine.ReadManifest(filepath.Join(root, "imgraph-out"))
	if err == nil && len(m.Images) > 0 {
		t.Errorf("the manifest lists %v, which were never recorded", m.Images)
	}
}

// copyingPlatform is a fakePlatform whose copies run until their context
// ends.
type copyingPlatform struct {
	*fakePlatform
	copying chan struct{}
}

func (p *copyingPlatform) Copy(ctx context.Context, _ *bake.CopyJob) (string, error) {
	close(p.copying)
	<-ctx.Done()
	return "", fmt.Errorf("fake: copy: %w", ctx.Err())
}

// A copy that Ctrl-C stops did not fail: the image is skipped, with no
// failure event, and the build ends as interrupted.
func TestAStoppedCopyIsNoFailure(t *testing.T) {
	root := writeWorkspace(t, fakeWorkspace(""))
	store := openCache(t)
	p := &copyingPlatform{fakePlatform: &fakePlatform{machine: "m1"}, copying: make(chan struct{})}
	a, plan := fakeRun(t, root, p.fakePlatform, store)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-p.copying
		cancel() // Ctrl-C
	}()
	var (
		mu       sync.Mutex
		failures []engine.Event
	)
	report, err := engine.Build(ctx, a, plan, engine.BuildOptions{
		Jobs: 1, RunID: "run-1", Baker: p, Store: store, OutDir: filepath.Join(root, "imgraph-out"),
		Fetcher: &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root},
		Secret:  func(string) (string, bool) { return "t0ken", true },
		Observer: engine.ObserverFunc(func(e engine.Event) {
			if e.Type == engine.EventFail {
				mu.Lock()
				failures = append(failures, e)
				mu.Unlock()
			}
		}),
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build = %v, want it interrupted", err)
	}
	if len(failures) > 0 || report.Failed > 0 {
		t.Errorf("failures %+v (%d failed), want none: the copy was stopped", failures, report.Failed)
	}
	for _, o := range report.Outcomes {
		if o.Target.Image.Label.Name == "base" && (o.Action != engine.ActionSkipped || o.Images[a.Result.Workspace.HomeRegion] == "") {
			t.Errorf("base: %s with images %v, want skipped with its baked image", o.Action, o.Images)
		}
	}
}

// A cached parent's event comes before its child's first: a reader of the
// events never sees a child start from a parent it has not heard of.
func TestACachedParentIsReportedBeforeItsChildStarts(t *testing.T) {
	root := writeWorkspace(t, fakeWorkspace(""))
	store := openCache(t)
	p := &fakePlatform{machine: "m1"}
	secret := func(string) (string, bool) { return "t0ken", true }
	a, plan := fakeRun(t, root, p, store)
	if _, err := fakeBuild(t, root, a, plan, p, store, secret); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		// The child changes each time; the parent stays cached.
		writeFile(t, root, "base/IMAGES.star", strings.Replace(fakeWorkspace("")["base/IMAGES.star"],
			`image(name = "app", parent = ":base")`, fmt.Sprintf(`image(name = "app", parent = ":base", salt = "%d")`, i), 1))
		a, plan := fakeRun(t, root, p, store)
		var (
			mu     sync.Mutex
			events []string
		)
		_, err := engine.Build(context.Background(), a, plan, engine.BuildOptions{
			Jobs: 2, RunID: "run-1", Baker: p, Store: store, OutDir: filepath.Join(root, "imgraph-out"),
			Fetcher: &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root}, Secret: secret,
			Observer: engine.ObserverFunc(func(e engine.Event) {
				mu.Lock()
				defer mu.Unlock()
				if e.Type == engine.EventCached || e.Type == engine.EventStart && e.Action == engine.EventBake {
					events = append(events, string(e.Type)+" "+e.Label)
				}
			}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"cached //base:base", "start //base:app"}; !slices.Equal(events, want) { // the bake's start
			t.Fatalf("build %d: events %q, want %q", i, events, want)
		}
	}
}
