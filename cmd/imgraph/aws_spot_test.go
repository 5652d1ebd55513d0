package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// A build on spot announces each spot launch as a phase in --events; one
// without spot capacity (a fault) announces its fall back to on demand.
func TestAWSSpotAndFallbackInTheEvents(t *testing.T) {
	sim := startSim(t)
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	image := func(name string) string {
		return `image(
    name = "` + name + `",
    source = ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64"),
    provision = [shell(inline = ["echo ` + name + ` > /etc/role"])],
    spot = spot(instance_types = ["m5.large"]),
)
`
	}
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star":          `workspace(name = "t", platform = "aws")` + "\n",
		"onspot/IMAGES.star":   image("onspot"),
		"fallback/IMAGES.star": image("fallback"),
	})
	phasesOf := func(events, label string) []string {
		var out []string
		for _, e := range readEvents(t, events) {
			if e.Type == engine.EventPhase && e.Label == label {
				out = append(out, e.Phase)
			}
		}
		return out
	}

	events := filepath.Join(t.TempDir(), "spot.jsonl")
	if r := ws.imgraph(t, nil, "build", "//onspot", "--events", events); r.code != exitOK {
		t.Fatalf("build on spot: %v", r)
	}
	if got := phasesOf(events, "//onspot:onspot"); !slices.Contains(got, "launch spot m5.large") || slices.Contains(got, "launch on-demand: no spot capacity") {
		t.Errorf("phases of the bake on spot: %v", got)
	}

	if _, err := sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultNoSpotCapacity}); err != nil {
		t.Fatal(err)
	}
	events = filepath.Join(t.TempDir(), "fallback.jsonl")
	if r := ws.imgraph(t, nil, "build", "//fallback", "--events", events); r.code != exitOK {
		t.Fatalf("build falling back: %v", r)
	}
	if got := phasesOf(events, "//fallback:fallback"); !slices.Contains(got, "launch spot m5.large") || !slices.Contains(got, "launch on-demand: no spot capacity") {
		t.Errorf("phases of the bake that fell back: %v", got)
	}
	if left := leftovers(sim); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
