package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/engine"
)

// Three generations bake in order, each on what its parent left; export
// writes the grandchild out whole; a second build bakes nothing.
func TestBuildThreeGenerations(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "root", source = rootfs(path = "rootfs"),
    provision = [shell(inline = ["echo root > /etc/grandparent"])])
`,
		"mid/IMAGES.star": `image(name = "child", parent = "//base:root",
    provision = [shell(inline = ["test -f /etc/grandparent", "echo child > /etc/child"])])
`,
		"pkg/IMAGES.star": `image(name = "grandchild", parent = "//mid:child", provision = [shell(script = "grandchild.sh")])
`,
		// sh -e: a missing file fails the bake.
		"pkg/grandchild.sh": "test -f /etc/grandparent\ntest -f /etc/child\necho grandchild > /etc/grandchild\n",
	})
	labels := []string{"//base:root", "//mid:child", "//pkg:grandchild"}

	r := ws.imgraph(t, nil, "build")
	if r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	rows, count := summary(t, r.stdout)
	if len(rows) != len(labels) {
		t.Errorf("the summary lists %d images, want %d:\n%s", len(rows), len(labels), r.stdout)
	}
	for _, l := range labels {
		if row := rows[l]; row.action != "bake" || len(row.id) != 12 {
			t.Errorf("summary row of %s = %+v, want action bake and a 12-digit id:\n%s", l, row, r.stdout)
		}
	}
	if count != "3 images: 3 baked" {
		t.Errorf("summary count line %q, want %q", count, "3 images: 3 baked")
	}

	out := filepath.Join(t.TempDir(), "out")
	if r := ws.imgraph(t, nil, "export", "//pkg:grandchild", "--format", "dir", out); r.code != exitOK {
		t.Fatalf("export: %v", r)
	}
	for name, want := range map[string]string{"etc/grandparent": "root\n", "etc/child": "child\n", "etc/grandchild": "grandchild\n"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(data) != want {
			t.Errorf("exported /%s = %q, %v; want %q", name, data, err, want)
		}
	}

	events := filepath.Join(t.TempDir(), "events.jsonl")
	r = ws.imgraph(t, nil, "build", "--events", events)
	if r.code != exitOK {
		t.Fatalf("second build: %v", r)
	}
	rows, count = summary(t, r.stdout)
	for _, l := range labels {
		if rows[l].action != "cached" {
			t.Errorf("second build: %s is %q, want cached:\n%s", l, rows[l].action, r.stdout)
		}
	}
	if count != "3 images: 3 cached" {
		t.Errorf("second build: summary count line %q, want %q", count, "3 images: 3 cached")
	}
	evs := readEvents(t, events)
	if starts := bakeEvents(evs, engine.EventStart); len(starts) > 0 {
		t.Errorf("second build started bakes: %v", starts)
	}
	cached := bakeEvents(evs, engine.EventCached)
	for _, l := range labels {
		if len(cached[l]) != 1 {
			t.Errorf("second build: %d cached events for %s, want 1", len(cached[l]), l)
		}
	}

	r = ws.imgraph(t, nil, "build", "--output", "json")
	if r.code != exitOK {
		t.Fatalf("build --output json: %v", r)
	}
	report := parseBuildJSON(t, r.stdout)
	if len(report.Targets) != len(labels) {
		t.Fatalf("build --output json lists %d targets, want %d:\n%s", len(report.Targets), len(labels), r.stdout)
	}
	for _, target := range report.Targets {
		if target.Action != "cached" {
			t.Errorf("build --output json: %s is %q, want cached", target.Label, target.Action)
		}
		if key := keyOf(t, evs, target.Label); target.Key != key || target.Images["us-east-1"] != key {
			t.Errorf("build --output json: %s has key %s and images %v, want key and local image id %s", target.Label, target.Key, target.Images, key)
		}
	}
	if *report.Failed != 0 || *report.Skipped != 0 {
		t.Errorf("build --output json: failed %d, skipped %d; want 0 and 0", *report.Failed, *report.Skipped)
	}
}

// failingGraph is a root with two branches: //good bakes, //bad:fail
// fails and //bad:after is its child.
var failingGraph = map[string]string{
	"base/IMAGES.star": `image(name = "root", source = rootfs(path = "rootfs"), provision = [shell(inline = ["echo root > /etc/root"])])
`,
	"good/IMAGES.star": `image(name = "a", parent = "//base:root", provision = [shell(inline = ["echo a > /etc/a"])])
image(name = "b", parent = ":a", provision = [shell(inline = ["echo b > /etc/b"])])
`,
	"bad/IMAGES.star": `image(name = "fail", parent = "//base:root", provision = [shell(inline = ["echo fine"]), shell(script = "fail.sh")])
image(name = "after", parent = ":fail", provision = [shell(inline = ["echo after > /etc/after"])])
`,
	"bad/fail.sh": "echo about to fail\nexit 3\n",
}

// With --keep-going a failure stops its own branch only, and the build
// says which provisioner failed, how, and how its log ends.
func TestBuildKeepGoing(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, failingGraph)
	r := ws.imgraph(t, nil, "build", "--keep-going")
	if r.code != exitBakeFailed {
		t.Fatalf("build --keep-going: %v\nwant exit code %d", r, exitBakeFailed)
	}
	for _, want := range []string{
		"FAILED //bad:fail: provision [1] shell (//bad:fail.sh) exited with status 3\n",
		"skipped //bad:after: parent //bad:fail failed\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	tail := regexp.MustCompile(`--- last \d+ lines of imgraph-out/logs/bad/fail\.log ---\n(  .*\n)*  about to fail\n`)
	if !tail.MatchString(r.stderr) {
		t.Errorf("stderr does not end the failure with the log's last lines, naming it:\n%s", r.stderr)
	}
	log, err := os.ReadFile(filepath.Join(ws.root, "imgraph-out", "logs", "bad", "fail.log"))
	if err != nil || !strings.Contains(string(log), "about to fail\n") {
		t.Errorf("imgraph-out/logs/bad/fail.log: %q, %v; want the script's output", log, err)
	}
	rows, count := summary(t, r.stdout)
	for l, want := range map[string]string{"//base:root": "bake", "//good:a": "bake", "//good:b": "bake", "//bad:fail": "FAILED", "//bad:after": "skipped"} {
		if rows[l].action != want {
			t.Errorf("summary: %s is %q, want %q:\n%s", l, rows[l].action, want, r.stdout)
		}
	}
	if want := "5 images: 3 baked, 1 failed, 1 skipped"; count != want {
		t.Errorf("summary count line %q, want %q", count, want)
	}
	m, err := engine.ReadManifest(filepath.Join(ws.root, "imgraph-out"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"//base:root", "//good:a", "//good:b"} {
		e, ok := m.Images[l]
		name := l[strings.LastIndex(l, ":")+1:] // each wrote /etc/<name>
		if !ok || !exists(filepath.Join(ws.cache, "images", e.Images["us-east-1"], "etc", name)) {
			t.Errorf("the manifest does not name a baked image of %s: %+v", l, e)
		}
	}
	for _, l := range []string{"//bad:fail", "//bad:after"} {
		if e, ok := m.Images[l]; ok {
			t.Errorf("the manifest names %s, which did not bake: %+v", l, e)
		}
	}
	if left := tmpTrees(t, ws.cache); len(left) > 0 {
		t.Errorf("temporary trees left behind: %v", left)
	}
}

// Without --keep-going the first failure stops the build: the bake in
// flight is cancelled and what has not started is skipped.
func TestBuildStopsAtFailure(t *testing.T) {
	t.Parallel()
	g := newGate(t) // never opened: //slow:slow bakes until the build stops
	files := map[string]string{
		"slow/IMAGES.star": `image(name = "slow", parent = "//base:root", provision = [shell(inline = ["` + g.pass("slow") + `"])])
image(name = "after", parent = ":slow", provision = [shell(inline = ["echo after > /etc/after"])])
`,
	}
	for name, body := range failingGraph {
		if !strings.HasPrefix(name, "good/") {
			files[name] = body
		}
	}
	ws := newWorkspace(t, files)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	r := ws.imgraph(t, nil, "build", "--jobs", "2", "--events", events)
	if r.code != exitBakeFailed {
		t.Fatalf("build: %v\nwant exit code %d", r, exitBakeFailed)
	}
	if !strings.Contains(r.stderr, "FAILED //bad:fail:") {
		t.Errorf("stderr does not report //bad:fail:\n%s", r.stderr)
	}
	rows, count := summary(t, r.stdout)
	for l, want := range map[string]string{"//base:root": "bake", "//bad:fail": "FAILED", "//bad:after": "skipped", "//slow:slow": "skipped", "//slow:after": "skipped"} {
		if rows[l].action != want {
			t.Errorf("summary: %s is %q, want %q:\n%s", l, rows[l].action, want, r.stdout)
		}
	}
	if want := "5 images: 1 baked, 1 failed, 3 skipped"; count != want {
		t.Errorf("summary count line %q, want %q", count, want)
	}
	evs := readEvents(t, events)
	starts := bakeEvents(evs, engine.EventStart)
	skips := bakeEvents(evs, engine.EventSkip)
	for _, l := range []string{"//bad:after", "//slow:after"} {
		if len(starts[l]) > 0 {
			t.Errorf("%s started after its parent failed or the build stopped", l)
		}
	}
	for _, l := range []string{"//bad:after", "//slow:slow", "//slow:after"} {
		if len(skips[l]) != 1 {
			t.Errorf("%d skipped events for %s, want 1", len(skips[l]), l)
		}
	}
	if key := keyOf(t, evs, "//slow:slow"); exists(filepath.Join(ws.cache, "images", key)) || recordKeys(t, ws.cache)[key] {
		t.Errorf("//slow:slow was stopped, but its image or record exists")
	}
	if left := tmpTrees(t, ws.cache); len(left) > 0 {
		t.Errorf("temporary trees left behind: %v", left)
	}
}
