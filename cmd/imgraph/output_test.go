package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// plan --detailed-exitcode says whether a build would change anything:
// 3 before the build, 0 after it, 3 again once an image must be retagged.
func TestPlanDetailedExitcode(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"), tags = {"Team": "a"})`,
	})
	if r := ws.imgraph(t, nil, "plan", "--detailed-exitcode"); r.code != exitChanges {
		t.Fatalf("plan before the build: %v\nwant exit %d", r, exitChanges)
	}
	r := ws.imgraph(t, nil, "build", "--output", "json")
	var summary struct {
		Targets []struct {
			Label, Action string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &summary); r.code != exitOK || err != nil || len(summary.Targets) != 1 || summary.Targets[0].Action != "bake" {
		t.Fatalf("build --output json: %v (%v)\nwant one image baked, as JSON", r, err)
	}
	if r := ws.imgraph(t, nil, "plan", "--detailed-exitcode"); r.code != exitOK {
		t.Fatalf("plan after the build: %v\nwant exit 0", r)
	}
	writeFiles(t, ws.root, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"), tags = {"Team": "b"})`,
	})
	if r := ws.imgraph(t, nil, "plan", "--detailed-exitcode", "--output", "json"); r.code != exitChanges || !json.Valid([]byte(r.stdout)) {
		t.Fatalf("plan after a tag edit: %v\nwant exit %d and the plan as JSON", r, exitChanges)
	}
}

// build --profile writes a trace in the Chrome trace event format: the
// command's steps, and a span for every bake, with its phases in it.
func TestBuildProfile(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"))
image(name = "app", parent = ":al2023", provision = [shell(inline = ["echo hi > /hi"])])`,
	})
	path := filepath.Join(t.TempDir(), "trace.json")
	if r := ws.imgraph(t, nil, "build", "--profile", path); r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	var tr struct {
		TraceEvents []struct {
			Name, Cat, Ph string
			TS, Dur       int64
			TID           int
		}
	}
	if err := json.Unmarshal([]byte(readFile(t, path)), &tr); err != nil {
		t.Fatalf("the trace is not JSON: %v", err)
	}
	bakes, phases, steps := map[string]bool{}, 0, map[string]bool{}
	for _, e := range tr.TraceEvents {
		switch {
		case e.Ph != "X":
		case e.Cat == "bake":
			bakes[e.Name] = true
		case e.Cat == "phase":
			phases++
		case e.TID == 0:
			steps[e.Name] = true
		}
		if e.Ph == "X" && (e.TS < 0 || e.Dur <= 0) {
			t.Errorf("span %s at %dµs for %dµs", e.Name, e.TS, e.Dur)
		}
	}
	if len(bakes) != 2 || !bakes["bake //base:app"] || !bakes["bake //base:al2023"] {
		t.Errorf("bake spans %v, want one for each image", bakes)
	}
	if phases == 0 {
		t.Error("no phase spans")
	}
	for _, step := range []string{"load", "keys", "plan", "build"} {
		if !steps[step] {
			t.Errorf("no %q span among %v", step, steps)
		}
	}
}

// Shell completion offers the workspace's packages, then a package's
// images, and the values of --platform and --output.
func TestCompletion(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star":     `image(name = "al2023", source = rootfs(path = "rootfs"))`,
		"apps/api/IMAGES.star": `image(name = "api", parent = "//base:al2023")` + "\n" + `image(name = "api-debug", parent = "//base:al2023")`,
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"build", "//a"}, "//apps/api\n//apps/api/...\n//apps/api:\n:6\n"},
		{[]string{"plan", "--", "-//b"}, "-//base\n-//base/...\n-//base:\n:6\n"},
		{[]string{"explain", "//apps/api:api"}, "//apps/api:api\n//apps/api:api-debug\n:4\n"},
		{[]string{"export", "//apps/api:api", ""}, ":0\n"},
		{[]string{"build", "--platform", ""}, "aws\nlocal\n:4\n"},
		{[]string{"query", "--output", "g"}, "label\nlabel_kind\ngraph\njson\n:4\n"},
		{[]string{"fmt", "lib/d"}, "star\n:8\n"},
	} {
		r := ws.imgraph(t, nil, append([]string{"__complete"}, tc.args...)...)
		if got, _, _ := strings.Cut(r.stdout, "Completion ended"); r.code != exitOK || got != tc.want {
			t.Errorf("completing %q: %q (exit %d, %s), want %q", tc.args, got, r.code, r.stderr, tc.want)
		}
	}
}
