package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/engine"
)

// testedWorkspace is fakeWorkspace with a test on the base image.
func testedWorkspace(test string) map[string]string {
	ws := fakeWorkspace("")
	ws["base/IMAGES.star"] = strings.Replace(ws["base/IMAGES.star"], `    regions = ["eu-west-1"],`,
		`    tests = [shell(inline = [`+test+`])],
    regions = ["eu-west-1"],`, 1)
	return ws
}

// Tests decide whether an image is kept, not what it holds: a new image
// is kept once they pass; a changed test re-tests the image without a
// bake, leaving its children's keys alone; an image that fails them is
// not recorded and its children are skipped.
func TestTestsDecideWhatIsKept(t *testing.T) {
	root := writeWorkspace(t, testedWorkspace(`"true"`))
	store := openCache(t)
	p := &fakePlatform{machine: "m1"}
	secret := func(string) (string, bool) { return "t0ken", true }
	base, app := lbl(t, "//base:base"), lbl(t, "//base:app")

	a, plan := fakeRun(t, root, p, store)
	if _, err := fakeBuild(t, root, a, plan, p, store, secret); err != nil {
		t.Fatal(err)
	}
	if len(p.bakes) != 2 || !slices.Equal(p.tests, []string{"//base:base fake-" + a.Keys[base].Hex[:8]}) {
		t.Fatalf("%d bakes, tests run %q: want both baked and the base's tests run on its new image", len(p.bakes), p.tests)
	}
	recs, err := store.Get(context.Background(), []string{a.Keys[base].Hex})
	if err != nil || recs[a.Keys[base].Hex] == nil || recs[a.Keys[base].Hex].Tested != a.Keys[base].Tests {
		t.Fatalf("the base's record %+v (%v), want it tested with %s", recs[a.Keys[base].Hex], err, a.Keys[base].Tests)
	}

	// A changed test: the same keys, the base tested again, nothing baked.
	writeFile(t, root, "base/IMAGES.star", testedWorkspace(`"true", "echo again"`)["base/IMAGES.star"])
	b, plan := fakeRun(t, root, p, store)
	if b.Keys[base].Hex != a.Keys[base].Hex || b.Keys[app].Hex != a.Keys[app].Hex || b.Keys[base].Tests == a.Keys[base].Tests {
		t.Fatal("a changed test changed a key, or did not change the tests' digest")
	}
	checkPlan(t, plan, map[string]wantTarget{
		"//base:base": {engine.ActionTest, []string{"tests changed since it last passed them"}},
		"//base:app":  {engine.ActionCached, nil},
	})
	if _, err := fakeBuild(t, root, b, plan, p, store, secret); err != nil {
		t.Fatal(err)
	}
	if len(p.bakes) != 2 || len(p.tests) != 2 {
		t.Fatalf("%d bakes, %d test runs: want the base tested again and nothing baked", len(p.bakes), len(p.tests))
	}
	_, plan = fakeRun(t, root, p, store)
	checkPlan(t, plan, map[string]wantTarget{"//base:base": {engine.ActionCached, nil}})

	// A failing re-test fails the image and skips its children; the
	// image stays as it was recorded, tested with the old tests.
	writeFile(t, root, "base/IMAGES.star", testedWorkspace(`"false"`)["base/IMAGES.star"])
	c, plan := fakeRun(t, root, p, store)
	report, err := fakeBuild(t, root, c, plan, p, store, secret)
	var be *engine.BuildError
	if !errors.As(err, &be) || engine.ExitCode(err) != 1 {
		t.Fatalf("Build = %v, want a failed build (exit 1)", err)
	}
	for _, o := range report.Outcomes {
		switch o.Target.Image.Label {
		case base:
			if o.Err == nil || !strings.Contains(o.Err.Error(), "test [0] shell (inline)") {
				t.Errorf("base: %v, want its failing test named", o.Err)
			}
		case app:
			if o.Action != engine.ActionSkipped || o.Err != nil {
				t.Errorf("app: %s (%v), want skipped", o.Action, o.Err)
			}
		}
	}
	recs, _ = store.Get(context.Background(), []string{c.Keys[base].Hex})
	if rec := recs[c.Keys[base].Hex]; rec == nil || rec.Tested != b.Keys[base].Tests {
		t.Errorf("the base's record %+v, want it kept as tested by the tests it passed", rec)
	}

	// A new image that fails its tests is never recorded.
	ws := testedWorkspace(`"false"`)
	writeFile(t, root, "base/IMAGES.star", strings.Replace(ws["base/IMAGES.star"], `inline = ["true"]`, `inline = ["true", "echo 2"]`, 1))
	d, plan := fakeRun(t, root, p, store)
	checkPlan(t, plan, map[string]wantTarget{"//base:base": {engine.ActionBake, nil}})
	if _, err := fakeBuild(t, root, d, plan, p, store, secret); !errors.As(err, &be) {
		t.Fatalf("Build = %v, want a failed build", err)
	}
	recs, _ = store.Get(context.Background(), []string{d.Keys[base].Hex, d.Keys[app].Hex})
	if len(recs) != 0 {
		t.Errorf("records %v of an image that failed its tests, and of its child", recs)
	}
	if m, err := engine.ReadManifest(root + "/imgraph-out"); err == nil && m.Images["//base:base"].Key == d.Keys[base].Hex {
		t.Error("the manifest names the image that failed its tests")
	}
}

// imgraph test runs the tests of the targets asked for that are baked,
// whatever they passed before, and skips those that are not baked.
func TestPlanForTests(t *testing.T) {
	root := writeWorkspace(t, testedWorkspace(`"true"`))
	store := openCache(t)
	p := &fakePlatform{machine: "m1"}
	secret := func(string) (string, bool) { return "t0ken", true }
	a, plan := fakeRun(t, root, p, store)
	plan.ForTests(a.Targets)
	checkPlan(t, plan, map[string]wantTarget{
		"//base:base": {engine.ActionSkipped, []string{"not baked"}},
		"//base:app":  {engine.ActionSkipped, []string{"not baked"}},
	})
	if _, err := fakeBuild(t, root, a, plan, p, store, secret); err != nil {
		t.Fatal(err)
	}
	if len(p.bakes)+len(p.tests) != 0 {
		t.Fatalf("a test-only build baked %d and tested %d images", len(p.bakes), len(p.tests))
	}
	_, plan = fakeRun(t, root, p, store)
	if _, err := fakeBuild(t, root, a, plan, p, store, secret); err != nil {
		t.Fatal(err)
	}
	_, plan = fakeRun(t, root, p, store)
	plan.ForTests(a.Targets)
	checkPlan(t, plan, map[string]wantTarget{
		"//base:base": {engine.ActionTest, nil},
		"//base:app":  {engine.ActionCached, []string{"no tests"}},
	})
	copies := len(p.copies)
	report, err := engine.Build(context.Background(), a, plan, engine.BuildOptions{
		Jobs: 2, RunID: "run-2", Baker: p, Store: store, OutDir: root + "/imgraph-out", TestOnly: true, Secret: secret,
	})
	if err != nil || report.Failed != 0 {
		t.Fatal(err)
	}
	if len(p.tests) != 2 || len(p.copies) != copies {
		t.Errorf("tests run %q, %d new copies: want the base tested again and nothing copied", p.tests, len(p.copies)-copies)
	}
}

// A re-test that makes an older key its label's latest again leaves the
// image to be given its distribution, in this build or the next; one
// that fails names it in no manifest.
func TestARetestOfAnOlderKey(t *testing.T) {
	root := writeWorkspace(t, testedWorkspace(`"true"`))
	store := openCache(t)
	p := &fakePlatform{machine: "m1"}
	secret := func(string) (string, bool) { return "t0ken", true }
	base := lbl(t, "//base:base")
	build := func(opt engine.BuildOptions) (*engine.Analysis, error) {
		t.Helper()
		a, plan := fakeRun(t, root, p, store)
		if opt.TestOnly {
			plan.ForTests(a.Targets)
		}
		opt.Jobs, opt.RunID, opt.Baker, opt.Store, opt.Secret = 2, "run", p, store, secret
		opt.OutDir = filepath.Join(root, "imgraph-out")
		opt.Fetcher = &engine.Fetcher{Dir: filepath.Join(root, "fetch"), Root: root}
		_, err := engine.Build(context.Background(), a, plan, opt)
		return a, err
	}
	first, err := build(engine.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ws := testedWorkspace(`"true"`)
	writeFile(t, root, "base/IMAGES.star", strings.Replace(ws["base/IMAGES.star"], `"true"], env`, `"echo v2"], env`, 1))
	second, err := build(engine.BuildOptions{})
	if err != nil || second.Keys[base].Hex == first.Keys[base].Hex {
		t.Fatalf("second build: %v (keys %s, %s)", err, first.Keys[base].Short(), second.Keys[base].Short())
	}

	// Back to the first key, with a test edited: imgraph test alone.
	writeFile(t, root, "base/IMAGES.star", testedWorkspace(`"true", "echo edited"`)["base/IMAGES.star"])
	if _, err := build(engine.BuildOptions{TestOnly: true}); err != nil {
		t.Fatal(err)
	}
	_, plan := fakeRun(t, root, p, store)
	checkPlan(t, plan, map[string]wantTarget{"//base:base": {engine.ActionRetag, []string{"given it again"}}})
	if _, err := build(engine.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	_, plan = fakeRun(t, root, p, store)
	checkPlan(t, plan, map[string]wantTarget{"//base:base": {engine.ActionCached, nil}})

	// Forward to the second key, whose tests now fail: the manifest keeps
	// naming the first.
	writeFile(t, root, "base/IMAGES.star", strings.Replace(testedWorkspace(`"false"`)["base/IMAGES.star"], `"true"], env`, `"echo v2"], env`, 1))
	var be *engine.BuildError
	if _, err := build(engine.BuildOptions{}); !errors.As(err, &be) {
		t.Fatalf("a build whose re-test fails: %v", err)
	}
	m, err := engine.ReadManifest(filepath.Join(root, "imgraph-out"))
	if err != nil || m.Images["//base:base"].Key != first.Keys[base].Hex {
		t.Errorf("manifest %+v (%v), want the base at its last good key %s", m.Images["//base:base"], err, first.Keys[base].Short())
	}
}
