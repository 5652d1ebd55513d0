package aws

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/rules"
)

// An image with spot bakes on a spot instance of its first type with
// capacity, which is not stopped (EC2 refuses to stop a one-time spot
// instance) but imaged with a reboot. With no spot capacity at all it
// falls back to on demand, and says so as a phase and in the log.
func TestSimSpot(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	launched := func(run string) (lifecycles, types []string) {
		for _, in := range w.sim.State().Regions[home].Instances {
			if in.Tags[bake.TagRun] == run {
				lifecycles = append(lifecycles, in.Lifecycle)
				types = append(types, in.InstanceType)
			}
		}
		return lifecycles, types
	}

	run := newRunID()
	im := w.image("spot", inlineShell("echo baked > /etc/baked"))
	im.AWS.Spot = &rules.Spot{InstanceTypes: []string{"m5.large", "c5.large"}, MaxPrice: "0.05"}
	job := w.job(im, run, "")
	if _, err := w.baker.Bake(ctx, job.Job); err != nil {
		t.Fatalf("bake on spot: %v\nlog:\n%s", err, job.log)
	}
	if lc, ty := launched(run); !slices.Equal(lc, []string{"spot"}) || !slices.Equal(ty, []string{"m5.large"}) {
		t.Errorf("instances of the spot bake: %v %v, want one spot m5.large", lc, ty)
	}
	if !slices.Contains(job.Phases(), "launch spot m5.large") {
		t.Errorf("phases %v: no launch spot m5.large", job.Phases())
	}
	if w.sim.Calls()[home]["StopInstances"] != 0 {
		t.Errorf("the spot instance was stopped")
	}
	w.noLeftovers(t, run)

	if _, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultNoSpotCapacity}); err != nil {
		t.Fatal(err)
	}
	run = newRunID()
	im = w.image("fallback", inlineShell("true"))
	im.AWS.Spot = &rules.Spot{InstanceTypes: []string{"m5.large", "c5.large"}}
	job = w.job(im, run, "")
	if _, err := w.baker.Bake(ctx, job.Job); err != nil {
		t.Fatalf("bake falling back: %v\nlog:\n%s", err, job.log)
	}
	if lc, ty := launched(run); !slices.Equal(lc, []string{""}) || !slices.Equal(ty, []string{"t3.micro"}) {
		t.Errorf("instances of the fallback bake: %q %v, want one on-demand t3.micro", lc, ty)
	}
	phases := job.Phases()
	for _, want := range []string{"launch spot m5.large", "launch spot c5.large", "launch on-demand: no spot capacity"} {
		if !slices.Contains(phases, want) {
			t.Errorf("phases %v: no %q", phases, want)
		}
	}
	if !strings.Contains(job.log.String(), "no spot capacity for m5.large, c5.large: falling back to an on-demand t3.micro instance") {
		t.Errorf("log does not say it fell back:\n%s", job.log)
	}
	w.noLeftovers(t, run)
}
