package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/engine"
)

// An image's tests run on a copy of the baked tree before it is kept; a
// changed test re-tests the image without a bake; imgraph test runs them
// again on demand; an image that fails its tests is never kept, and the
// images below it are skipped.
func TestImageTestsOnTheLocalPlatform(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"),
    provision = [shell(inline = ["echo base > /etc/base"])],
    tests = [shell(script = "check.sh")])
image(name = "app", parent = ":base", provision = [shell(inline = ["echo app > /etc/app"])])
`,
		// A test that writes: what it writes must not reach the image.
		"base/check.sh": "test -f /etc/base\necho tested > /etc/test-wrote\n",
	})
	events := filepath.Join(t.TempDir(), "events.jsonl")
	r := ws.imgraph(t, nil, "build", "--events", events)
	if r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	evs := readEvents(t, events)
	baseKey := keyOf(t, evs, "//base:base")
	var phases []string
	for _, e := range evs {
		if e.Type == engine.EventPhase && e.Label == "//base:base" && strings.HasPrefix(e.Phase, "test") {
			phases = append(phases, e.Phase)
		}
	}
	if !slices.Contains(phases, "test [0] shell") {
		t.Errorf("the base's bake went through %q, want its test", phases)
	}
	tree := filepath.Join(ws.cache, "images", baseKey)
	if !exists(filepath.Join(tree, "etc", "base")) || exists(filepath.Join(tree, "etc", "test-wrote")) {
		t.Errorf("the base's tree: /etc/base there %v, /etc/test-wrote there %v; want the bake's file and not the test's",
			exists(filepath.Join(tree, "etc", "base")), exists(filepath.Join(tree, "etc", "test-wrote")))
	}

	// A changed test: tested again, nothing baked, the child untouched.
	writeFiles(t, ws.root, map[string]string{"base/check.sh": "test -f /etc/base\ntest -x /bin/sh\n"})
	r = ws.imgraph(t, nil, "plan")
	if !strings.Contains(r.stdout, "test") || !strings.Contains(r.stdout, "tests changed since it last passed them") {
		t.Errorf("plan after a test edit:\n%s", r.stdout)
	}
	r = ws.imgraph(t, nil, "build", "--events", events)
	if r.code != exitOK {
		t.Fatalf("build after a test edit: %v", r)
	}
	rows, count := summary(t, r.stdout)
	if rows["//base:base"].action != "test" || rows["//base:app"].action != "cached" || count != "2 images: 1 tested, 1 cached" {
		t.Errorf("build after a test edit:\n%s", r.stdout)
	}
	if starts := bakeEvents(readEvents(t, events), engine.EventStart); len(starts) > 0 {
		t.Errorf("a test edit started bakes: %v", starts)
	}
	if r := ws.imgraph(t, nil, "build"); !strings.Contains(r.stdout, "2 images: 2 cached") {
		t.Errorf("a build after the tests passed:\n%s", r.stdout)
	}

	// imgraph test: the tests again, on demand.
	r = ws.imgraph(t, nil, "test", "//base:base")
	if r.code != exitOK || !strings.Contains(r.stdout, "1 image: 1 tested") {
		t.Errorf("imgraph test: %v", r)
	}

	// A new image that fails its tests: not kept, nothing left behind,
	// its child skipped, the manifest still naming the last good one.
	star, err := os.ReadFile(filepath.Join(ws.root, "base", "IMAGES.star"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ws.root, map[string]string{
		"base/IMAGES.star": strings.Replace(string(star), "echo base", "echo base2", 1),
		"base/check.sh":    "test -f /etc/base\nexit 3\n",
	})
	before := recordKeys(t, ws.cache)
	r = ws.imgraph(t, nil, "build", "--events", events)
	if r.code != exitBakeFailed || !strings.Contains(r.stderr, "test [0] shell (//base:check.sh) exited with status 3") {
		t.Fatalf("build with a failing test: %v", r)
	}
	evs = readEvents(t, events)
	newKey := keyOf(t, evs, "//base:base")
	if after := recordKeys(t, ws.cache); len(after) != len(before) || after[newKey] {
		t.Errorf("records %v after a failed test, want %v", after, before)
	}
	if exists(filepath.Join(ws.cache, "images", newKey)) || len(tmpTrees(t, ws.cache)) > 0 {
		t.Errorf("the image that failed its test was kept, or trees were left: %v", tmpTrees(t, ws.cache))
	}
	if skips := bakeEvents(evs, engine.EventSkip); len(skips["//base:app"]) != 1 {
		t.Errorf("the child was not skipped: %v", skips)
	}
	m, err := engine.ReadManifest(filepath.Join(ws.root, "imgraph-out"))
	if err != nil || m.Images["//base:base"].Key != baseKey {
		t.Errorf("manifest %+v (%v), want the base's last good key %s", m, err, baseKey)
	}

	// imgraph test of an image that is not baked tested nothing: exit 1.
	r = ws.imgraph(t, nil, "test", "//base:base")
	if r.code != exitBakeFailed || !strings.Contains(r.stderr, "1 image is not baked, so its tests did not run") {
		t.Errorf("imgraph test of an image not baked: %v", r)
	}
}
