package main

import (
	"encoding/json"
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
