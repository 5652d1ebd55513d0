package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// tickBaker stands in for a platform in scheduler tests. Time is counted in
// ticks the test hands out: a bake of an image tagged Ticks = "3" finishes
// on the third tick after it starts. No wall clock is involved.
type tickBaker struct {
	local.Platform
	mu       sync.Mutex
	left     map[string]int  // running bakes: label -> ticks left
	finished map[string]bool // labels whose bake returned
	fail     map[string]bool // labels whose bake fails
	changed  chan struct{}   // a bake started or finished
	wake     chan struct{}   // closed and replaced on every tick
}

func newTickBaker(fail ...string) *tickBaker {
	b := &tickBaker{left: map[string]int{}, finished: map[string]bool{}, fail: map[string]bool{},
		changed: make(chan struct{}, 1000), wake: make(chan struct{})}
	for _, f := range fail {
		b.fail[f] = true
	}
	return b
}

func (b *tickBaker) Bake(ctx context.Context, job *bake.Job) (string, error) {
	l := job.Image.Label.String()
	n, _ := strconv.Atoi(job.Image.Tags["Ticks"])
	b.mu.Lock()
	b.left[l] = max(n, 1)
	b.mu.Unlock()
	b.changed <- struct{}{}
	defer func() { b.changed <- struct{}{} }()
	for {
		b.mu.Lock()
		done, wake := b.left[l] <= 0, b.wake
		if done {
			delete(b.left, l)
			b.finished[l] = true
		}
		b.mu.Unlock()
		if done {
			if b.fail[l] {
				return "", fmt.Errorf("provision [0] shell exited with status 1")
			}
			return "img-" + job.Key[:8], nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			b.mu.Lock()
			delete(b.left, l)
			b.mu.Unlock()
			return "", ctx.Err()
		}
	}
}

// tick ends one tick of work for every running bake.
func (b *tickBaker) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for l := range b.left {
		b.left[l]--
	}
	close(b.wake)
	b.wake = make(chan struct{})
}

func (b *tickBaker) running() (map[string]bool, map[string]bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A bake out of ticks is finishing, not running: the test waits for
	// it to return before the next tick.
	r := map[string]bool{}
	for l, n := range b.left {
		if n > 0 {
			r[l] = true
		}
	}
	f := map[string]bool{}
	for l := range b.finished {
		f[l] = true
	}
	return r, f
}

func (b *tickBaker) Copy(ctx context.Context, job *bake.CopyJob) (string, error) {
	return job.ID + "-" + job.To, nil
}
func (b *tickBaker) Publish(context.Context, *bake.PublishJob) error { return nil }
func (b *tickBaker) Test(context.Context, *bake.TestJob) error       { return nil }
func (b *tickBaker) Exist(_ context.Context, images []bake.ImageRef) (map[bake.ImageRef]bool, error) {
	return allExist(images), nil
}

// allExist says every image exists.
func allExist(images []bake.ImageRef) map[bake.ImageRef]bool {
	out := map[bake.ImageRef]bool{}
	for _, ref := range images {
		out[ref] = true
	}
	return out
}
func (b *tickBaker) Find(context.Context, []string, []string) (map[string]map[string]string, error) {
	return nil, nil
}
func (b *tickBaker) Resolve(context.Context, string, *rules.Source) (bake.Resolved, error) {
	return bake.Resolved{}, errors.New("no floating sources here")
}

// scheduleWorkspace is a graph whose critical path is 5 ticks long
// (a:3 -> b:1 -> c:1) among 13 ticks of work.
const scheduleWorkspace = `
def img(name, ticks, parent = None):
    if parent:
        image(name = name, parent = parent, salt = name, tags = {"Ticks": str(ticks)})
    else:
        image(name = name, source = rootfs(path = "rootfs"), salt = name, tags = {"Ticks": str(ticks)})

img("a", 3)
img("b", 1, ":a")
img("c", 1, ":b")
img("d", 1)
img("e", 1, ":d")
img("f", 1, ":d")
img("g", 1, ":d")
img("h", 2)
img("i", 2, ":h")
`

type scheduleRun struct {
	ticks      int
	maxRunning int
	eventsMax  int
	baked      int // bakes that returned
	report     *engine.Report
	err        error
}

// scheduleRoot writes the schedule workspace to a new directory.
func scheduleRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"IMAGES.star":   `workspace(name = "sched", platform = "local")`,
		"g/IMAGES.star": scheduleWorkspace,
		"g/rootfs/etc":  "",
	})
	return root
}

// runTicks builds a new schedule workspace with a tick baker.
func runTicks(t *testing.T, jobs int, keepGoing bool, fail ...string) scheduleRun {
	t.Helper()
	return runTicksIn(t, scheduleRoot(t), jobs, keepGoing, fail...)
}

// runTicksIn builds the schedule workspace at root with a tick baker and
// counts the ticks it takes. Before each tick it waits until every bake
// that could run has started: the images whose parent is baked, up to jobs
// of them. So the count does not depend on how goroutines are scheduled.
func runTicksIn(t *testing.T, root string, jobs int, keepGoing bool, fail ...string) scheduleRun {
	t.Helper()
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	loader, err := rules.NewLoader(ws, rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.Analyze(context.Background(), loader, engine.AnalyzeOptions{
		Patterns: []label.Pattern{{Recursive: true, Selects: label.Rules}}, Platform: local.Platform{}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.OpenLocal(filepath.Join(root, "cache"), nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := engine.MakePlan(context.Background(), a, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	baker := newTickBaker(fail...)
	var evMu sync.Mutex
	inFlight, eventsMax := 0, 0
	obs := engine.ObserverFunc(func(e engine.Event) {
		if e.Action != "bake" {
			return
		}
		evMu.Lock()
		defer evMu.Unlock()
		switch e.Type {
		case engine.EventStart:
			inFlight++
			eventsMax = max(eventsMax, inFlight)
		case engine.EventFinish, engine.EventFail:
			inFlight--
		}
	})
	done := make(chan scheduleRun, 1)
	go func() {
		r, err := engine.Build(context.Background(), a, plan, engine.BuildOptions{
			Jobs: jobs, KeepGoing: keepGoing, RunID: "test", Baker: baker, Store: store, Locker: store,
			Observer: obs, OutDir: filepath.Join(root, "imgraph-out"),
			Fetcher: &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root},
		})
		done <- scheduleRun{report: r, err: err}
	}()

	parentOf := map[string]string{}
	for l, im := range a.Graph.Images {
		if !im.Parent.IsZero() {
			parentOf[l.String()] = im.Parent.String()
		}
	}
	ticks, maxRunning := 0, 0
	for {
		// Wait for quiescence, or for the build to end.
		for {
			running, finished := baker.running()
			ready := 0
			for l := range a.Graph.Images {
				ls := l.String()
				p, hasParent := parentOf[ls]
				if finished[ls] || (hasParent && (!finished[p] || baker.fail[p])) {
					continue
				}
				ready++
			}
			if len(running) == min(jobs, ready) && len(running) > 0 {
				maxRunning = max(maxRunning, len(running))
				break
			}
			select {
			case <-baker.changed:
				continue
			case r := <-done:
				_, finished := baker.running()
				r.ticks, r.maxRunning, r.eventsMax, r.baked = ticks, maxRunning, eventsMax, len(finished)
				return r
			case <-time.After(time.Minute):
				buf := make([]byte, 1<<20)
				t.Fatalf("after %d ticks: %d bakes running, want min(%d, %d ready)\n%s", ticks, len(running), jobs, ready, buf[:runtime.Stack(buf, true)])
			}
		}
		baker.tick()
		ticks++
	}
}

func TestBuildWithEnoughJobsTakesTheCriticalPath(t *testing.T) {
	r := runTicks(t, 10, false)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.ticks != 5 {
		t.Errorf("the build took %d ticks; its critical path a -> b -> c is 5", r.ticks)
	}
}

func TestBuildWithOneJobBakesOneAtATime(t *testing.T) {
	r := runTicks(t, 1, false)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.ticks != 13 {
		t.Errorf("the build took %d ticks; one at a time it is the sum of the work, 13", r.ticks)
	}
	if r.eventsMax != 1 {
		t.Errorf("the events show %d bakes at once, want 1", r.eventsMax)
	}
}

func TestBuildHonoursJobs(t *testing.T) {
	for _, jobs := range []int{2, 3} {
		t.Run(fmt.Sprint(jobs), func(t *testing.T) {
			r := runTicks(t, jobs, false)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.eventsMax != jobs {
				t.Errorf("the events show at most %d bakes at once, want exactly --jobs %d", r.eventsMax, jobs)
			}
			if lower := (13 + jobs - 1) / jobs; r.ticks < lower {
				t.Errorf("%d ticks is below the %d that %d jobs need for 13 ticks of work", r.ticks, lower, jobs)
			}
		})
	}
}

func TestBuildKeepGoingFinishesOtherBranches(t *testing.T) {
	r := runTicks(t, 10, true, "//g:d")
	var be *engine.BuildError
	if !errors.As(r.err, &be) || be.Failed != 1 || be.Skipped != 3 {
		t.Fatalf("err = %v, want 1 failed and 3 skipped", r.err)
	}
	for _, o := range r.report.Outcomes {
		l := o.Target.Image.Label.String()
		switch l {
		case "//g:d":
			if o.Err == nil {
				t.Errorf("%s did not fail", l)
			}
		case "//g:e", "//g:f", "//g:g":
			if o.Action != engine.ActionSkipped || o.Reason != "parent //g:d failed" {
				t.Errorf("%s: %s (%q), want skipped because its parent failed", l, o.Action, o.Reason)
			}
		default:
			if o.Err != nil || o.Action != engine.ActionBake {
				t.Errorf("%s: %s %v, want baked", l, o.Action, o.Err)
			}
		}
	}
}

func TestBuildStopsAtTheFirstFailureWithoutKeepGoing(t *testing.T) {
	// a takes 3 ticks; d fails on the first, which stops the build.
	r := runTicks(t, 10, false, "//g:d")
	var be *engine.BuildError
	if !errors.As(r.err, &be) || be.Failed != 1 {
		t.Fatalf("err = %v, want one failure", r.err)
	}
	for _, o := range r.report.Outcomes {
		if l := o.Target.Image.Label.String(); l == "//g:c" && o.Action != engine.ActionSkipped {
			t.Errorf("%s: %s, want skipped: the build stopped before its parents were baked", l, o.Action)
		}
	}
}

func TestBuildRecordsEveryBakeAndASecondBuildBakesNothing(t *testing.T) {
	root := scheduleRoot(t)
	first := runTicksIn(t, root, 4, false)
	if first.err != nil {
		t.Fatal(first.err)
	}
	for _, o := range first.report.Outcomes {
		if o.Action != engine.ActionBake {
			t.Fatalf("first build: %s %s, want bake", o.Target.Image.Label, o.Action)
		}
	}
	m, err := engine.ReadManifest(filepath.Join(root, "imgraph-out"))
	if err != nil || len(m.Images) != 9 {
		t.Fatalf("manifest: %v, %d images, want 9", err, len(m.Images))
	}
	for l, e := range m.Images {
		if e.Images["us-east-1"] != "img-"+e.Key[:8] {
			t.Errorf("manifest %s: %v, want the baked image in the home region", l, e.Images)
		}
	}
	second := runTicksIn(t, root, 4, false)
	if second.err != nil {
		t.Fatal(second.err)
	}
	for _, o := range second.report.Outcomes {
		if o.Action != engine.ActionCached {
			t.Errorf("second build: %s %s, want cached", o.Target.Image.Label, o.Action)
		}
	}
	if second.baked != 0 {
		t.Errorf("the second build baked %d images", second.baked)
	}
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// findingBaker is a tickBaker whose images carry their key, as the aws
// platform's do in their imgraph:key tag.
type findingBaker struct {
	*tickBaker
	images map[string]string // key -> image id
}

func (f *findingBaker) Find(_ context.Context, regions []string, keys []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, k := range keys {
		if id, ok := f.images[k]; ok {
			out[k] = map[string]string{}
			for _, r := range regions {
				out[k][r] = id
			}
		}
	}
	return out, nil
}

func TestLosingTheCacheNeverForcesARebake(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"IMAGES.star":   `workspace(name = "sched", platform = "local")`,
		"g/IMAGES.star": scheduleWorkspace,
		"g/rootfs/etc":  "",
	})
	a := analyze(t, root, rules.Config{})
	// Every image was baked by an earlier build whose cache is gone.
	baker := &findingBaker{tickBaker: newTickBaker(), images: map[string]string{}}
	for _, k := range a.Keys {
		baker.images[k.Hex] = "img-" + k.Hex[:8]
	}
	store, _ := cache.OpenLocal(filepath.Join(root, "empty-cache"), nil)
	plan, err := engine.MakePlan(context.Background(), a, store, baker)
	if err != nil {
		t.Fatal(err)
	}
	// Found, and tagged again: what an image found was given when it was
	// baked is not known (its tags are not part of its key).
	for _, tg := range plan.Targets {
		if tg.Action != engine.ActionRetag || !tg.Found || !strings.Contains(tg.Reasons[0], "imgraph:key tag") ||
			!strings.Contains(tg.Reasons[1], "not known; given again") {
			t.Fatalf("%s: %s %v, want retag, found by its tag", tg.Image.Label, tg.Action, tg.Reasons)
		}
	}
	if _, err := engine.Build(context.Background(), a, plan, engine.BuildOptions{
		Jobs: 2, RunID: "t", Baker: baker, Store: store, OutDir: filepath.Join(root, "imgraph-out"),
		Fetcher: &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root}}); err != nil {
		t.Fatal(err)
	}
	if _, finished := baker.running(); len(finished) != 0 {
		t.Errorf("the build baked %d images", len(finished))
	}
	// The images were recorded again: a plan without the finder hits the cache.
	again, err := engine.MakePlan(context.Background(), a, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range again.Targets {
		if tg.Action != engine.ActionCached || tg.Found || tg.Record.Images["us-east-1"] != baker.images[tg.Key.Hex] {
			t.Errorf("%s: %s found=%v %v, want cached from the cache", tg.Image.Label, tg.Action, tg.Found, tg.Record)
		}
	}
}

// A cache may answer a look-up with summaries; a build that records such
// an image again (here, to give it its tags) writes it back whole.
func TestARecordFoundAsASummaryIsRecordedWhole(t *testing.T) {
	root := scheduleRoot(t)
	a := analyze(t, root, rules.Config{})
	store, _ := cache.OpenLocal(filepath.Join(root, "cache"), nil)
	for l, k := range a.Keys {
		rec := &cache.Record{Key: k.Hex, Label: l.String(), Platform: rules.PlatformLocal,
			Images: map[string]string{"us-east-1": "img-" + k.Hex[:8]}}
		if err := store.Put(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := engine.MakePlan(context.Background(), a, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range plan.Targets {
		if tg.Action != engine.ActionRetag {
			t.Fatalf("%s: %s %v, want retag", tg.Image.Label, tg.Action, tg.Reasons)
		}
	}
	if _, err := engine.Build(context.Background(), a, plan, engine.BuildOptions{
		Jobs: 2, RunID: "t", Baker: newTickBaker(), Store: store, OutDir: filepath.Join(root, "imgraph-out"),
		Fetcher: &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root}}); err != nil {
		t.Fatal(err)
	}
	for l, k := range a.Keys {
		rec, err := store.Latest(context.Background(), l.String())
		if err != nil || rec == nil {
			t.Fatalf("%s: Latest = %v, %v", l, rec, err)
		}
		var parts []bake.KeyPart
		if err := json.Unmarshal(rec.Inputs, &parts); err != nil || !reflect.DeepEqual(parts, k.Parts) {
			t.Errorf("%s: recorded inputs %s (%v), want the key's parts", l, rec.Inputs, err)
		}
	}
}

// The manifest keeps every label its output directory has recorded: a
// build of one package updates that package's entries and leaves the
// others', each saying when and by which run its image was baked.
func TestTheManifestKeepsWhatOtherBuildsRecorded(t *testing.T) {
	root := scheduleRoot(t)
	writeFiles(t, root, map[string]string{"h/IMAGES.star": `image(name = "solo", source = rootfs(path = "rootfs"))`, "h/rootfs/etc": ""})
	store, _ := cache.OpenLocal(filepath.Join(root, "cache"), nil)
	out := filepath.Join(root, "imgraph-out")
	var observer engine.Observer
	build := func(run string, pattern string) {
		// Called from goroutines: errors, not Fatal.
		a, err := tryAnalyze(t, root, rules.Config{}, engine.AnalyzeOptions{}, pattern)
		if err != nil {
			t.Error(err)
			return
		}
		plan, err := engine.MakePlan(context.Background(), a, store, nil)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := engine.Build(context.Background(), a, plan, engine.BuildOptions{
			Jobs: 4, RunID: run, Baker: instantBaker{newTickBaker()}, Store: store, OutDir: out, Observer: observer,
			Fetcher: &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root}}); err != nil {
			t.Error(err)
		}
	}
	build("run-1", "//g/...")
	build("run-2", "//h/...")
	// Two builds at once keep each other's entries too: both have read
	// the manifest (there is none) before either writes it.
	os.Remove(filepath.Join(out, "manifest.json"))
	var started sync.WaitGroup
	started.Add(2)
	bothStarted := make(chan struct{})
	go func() { started.Wait(); close(bothStarted) }()
	observer = engine.ObserverFunc(func(e engine.Event) {
		if e.Type == engine.EventBuildStart {
			started.Done()
			select {
			case <-bothStarted:
			case <-time.After(10 * time.Second):
				t.Error("the other build never started")
			}
		}
	})
	var wg sync.WaitGroup
	wg.Go(func() { build("run-1", "//g/...") })
	wg.Go(func() { build("run-2", "//h/...") })
	wg.Wait()
	m, err := engine.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Images) != 10 {
		t.Fatalf("manifest of %d images, want the 9 of //g and //h:solo", len(m.Images))
	}
	for l, e := range m.Images {
		want := "run-1"
		if l == "//h:solo" {
			want = "run-2"
		}
		if e.Run != want || e.Baked.IsZero() || e.Images["us-east-1"] == "" {
			t.Errorf("%s: %+v, want baked by %s", l, e, want)
		}
	}
}

// instantBaker is a tickBaker whose bakes end at once.
type instantBaker struct{ *tickBaker }

func (instantBaker) Bake(_ context.Context, job *bake.Job) (string, error) {
	return "img-" + job.Key[:8], nil
}
