package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// An image that gives no instance_type bakes on the default type of its
// source's architecture: t4g.micro for arm64, whose child (the parent's
// architecture, found at bake time) does too. An x86 type with an arm64
// source fails before anything is launched, saying what to change.
func TestSimInstanceTypeFollowsArchitecture(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	arm, err := w.sim.RegisterImage(home, ec2sim.BaseImage{
		Name: "al2023-ami-2023.6.20261101.0-kernel-6.1-arm64", Owner: "amazon", Architecture: "arm64",
		RootFS: busyboxRootfs(t), Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	typesOf := func(run string) []string {
		var out []string
		for _, in := range w.sim.State().Regions[home].Instances {
			if in.Tags[bake.TagRun] == run {
				out = append(out, in.InstanceType)
			}
		}
		return out
	}

	run := newRunID()
	im := w.image("graviton", inlineShell("true"))
	im.AWS.InstanceType, im.AWS.InstanceTypeDefaulted = "t3.micro", true // as loaded from an ami() source
	job := w.job(im, run, "")
	job.SourceID = arm
	parent, err := w.baker.Bake(ctx, job.Job)
	if err != nil {
		t.Fatalf("bake: %v\nlog:\n%s", err, job.log)
	}
	child := w.image("graviton-child", inlineShell("true"))
	child.AWS.InstanceTypeDefaulted = true
	if _, err := w.baker.Bake(ctx, w.job(child, run, parent).Job); err != nil {
		t.Fatalf("bake of the child: %v", err)
	}
	if got := typesOf(run); len(got) != 2 || got[0] != "t4g.micro" || got[1] != "t4g.micro" {
		t.Errorf("instance types of an arm64 source and its child = %v, want t4g.micro twice", got)
	}
	w.noLeftovers(t, run)

	run = newRunID()
	im = w.image("mismatch", inlineShell("true")) // instance_type = "t3.micro", given
	job = w.job(im, run, "")
	job.SourceID = arm
	before := w.sim.Calls()[home]["RunInstances"]
	_, err = w.baker.Bake(ctx, job.Job)
	if err == nil || !strings.Contains(err.Error(), "instance_type t3.micro runs x86_64, but the image it starts from, "+arm+", is arm64: use an arm64 type such as t4g.micro") {
		t.Fatalf("bake of t3.micro from an arm64 image: %v", err)
	}
	if n := w.sim.Calls()[home]["RunInstances"] - before; n != 0 {
		t.Errorf("%d RunInstances calls, want none: the mismatch is found first", n)
	}
	w.noLeftovers(t, run)
}
