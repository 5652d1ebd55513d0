package aws

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// instancesOf lists the instances launched from image id, as "state run".
func (w *simWorld) instancesOf(id string) []string {
	var out []string
	for _, in := range w.sim.State().Regions[home].Instances {
		if in.ImageID == id {
			out = append(out, in.State+" "+in.Tags[bake.TagRun])
		}
	}
	return out
}

// An image's tests run on an instance launched from the new image before
// the image is kept; Test runs them again without a bake; an image that
// fails them is deregistered with its snapshots; nothing of a test is
// left behind.
func TestSimImageTests(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	ctx := context.Background()

	im := w.image("tested", inlineShell("echo built > /etc/built"))
	im.Tests = []rules.Provisioner{inlineShell("test -f /etc/built", "echo tested > /etc/tested")}
	job := w.job(im, run, "")
	id, err := w.baker.Bake(ctx, job.Job)
	if err != nil {
		t.Fatalf("bake: %v\nlog:\n%s", err, job.log)
	}
	if got := w.instancesOf(id); !slices.Equal(got, []string{"terminated " + run}) {
		t.Errorf("instances launched from the new image: %q, want the test's, terminated", got)
	}
	if img := w.imageState(home, id); img == nil || img.State != "available" || img.Tags[bake.TagTemporary] != "" {
		t.Errorf("the tested image: %+v, want it available and kept", img)
	}
	if !slices.Contains(job.Phases(), "test [0] shell") || !strings.Contains(job.log.String(), "==> test [0] shell (inline)") {
		t.Errorf("phases %q; log:\n%s", job.Phases(), job.log)
	}
	w.noLeftovers(t, run)

	// Again, without a bake: a second instance of the image, no image made.
	created := w.sim.Calls()[home]["CreateImage"]
	var log bytes.Buffer
	if err := w.baker.Test(ctx, &bake.TestJob{Image: im, Key: job.Key, RunID: run, Region: home, ID: id, Log: &lockedWriter{w: &log}}); err != nil {
		t.Fatalf("test: %v\nlog:\n%s", err, log.String())
	}
	if got := w.instancesOf(id); len(got) != 2 || w.sim.Calls()[home]["CreateImage"] != created {
		t.Errorf("after Test: instances of the image %q, %d more CreateImage calls; want a second instance and none",
			got, w.sim.Calls()[home]["CreateImage"]-created)
	}
	w.noLeftovers(t, run)

	// A test that fails again leaves the image it tested: it was kept.
	failing := *im
	failing.Tests = []rules.Provisioner{inlineShell("test -f /etc/missing")}
	err = w.baker.Test(ctx, &bake.TestJob{Image: &failing, Key: job.Key, RunID: run, Region: home, ID: id})
	var failed *bake.TestFailure
	if !errors.As(err, &failed) || failed.Test != "test [0] shell (inline)" {
		t.Errorf("a failing re-test: %v, want a TestFailure naming it", err)
	}
	if img := w.imageState(home, id); img == nil || img.State != "available" {
		t.Errorf("the image a failing re-test tested: %+v, want it left as it was", img)
	}
	w.noLeftovers(t, run)

	// A new image that fails its test is not kept.
	bad := w.image("failing", inlineShell("echo built > /etc/built"))
	bad.Tests = []rules.Provisioner{inlineShell("true"), inlineShell("test -f /etc/missing")}
	badJob := w.job(bad, run, "")
	_, err = w.baker.Bake(ctx, badJob.Job)
	if !errors.As(err, &failed) || !strings.Contains(err.Error(), "test [1] shell (inline) exited with status 1") {
		t.Fatalf("bake with a failing test: %v, want a TestFailure naming test [1]\nlog:\n%s", err, badJob.log)
	}
	for _, img := range w.sim.State().Regions[home].Images {
		if img.Tags[bake.TagKey] == badJob.Key && img.State != "deregistered" {
			t.Errorf("the image that failed its test is %s: %+v", img.State, img)
		}
	}
	w.noLeftovers(t, run)
}

// Ctrl-C while a new image's test runs: the test's instance and the
// untested image both go, and nothing of the run is left.
func TestSimCancelDuringATest(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	im := w.image("cancelled", inlineShell("echo built > /etc/built"))
	im.Tests = []rules.Provisioner{inlineShell("sleep 60")}
	job := w.job(im, run, "")
	job.onPhase = func(p string) {
		if p == "test [0] shell" {
			cancel()
		}
	}
	if _, err := w.baker.Bake(ctx, job.Job); !errors.Is(err, context.Canceled) {
		t.Fatalf("bake cancelled during its test: %v, want context.Canceled\nlog:\n%s", err, job.log)
	}
	for _, img := range w.sim.State().Regions[home].Images {
		if img.Tags[bake.TagKey] == job.Key {
			t.Errorf("the untested image is %s: %+v", img.State, img)
		}
	}
	w.noLeftovers(t, run)
}

// A run killed while its new image was being tested leaves that image
// available but temporary. Another run of the same key with tests never
// takes it (no one can say it passed them): it removes it and makes the
// image again.
func TestSimAnUntestedImageOfADeadRunIsMadeAgain(t *testing.T) {
	w := newSimWorld(t, Options{})
	dead, run := newRunID(), newRunID()
	ctx := context.Background()
	im := w.image("tested", inlineShell("echo built > /etc/built"))
	im.Tests = []rules.Provisioner{inlineShell("test -f /etc/built")}
	first := w.job(im, dead, "")
	id, err := w.baker.Bake(ctx, first.Job)
	if err != nil {
		t.Fatalf("bake: %v\nlog:\n%s", err, first.log)
	}
	// As the killed run left it: temporary, its heartbeat long stale.
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	stale := time.Now().Add(-2 * HeartbeatStale).UTC().Format(time.RFC3339)
	_, err = client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: toTags(map[string]string{
		bake.TagTemporary: "true", bake.TagCreated: stale, TagHeartbeat: stale,
	})})
	if err != nil {
		t.Fatal(err)
	}

	again := w.job(im, run, "")
	again.Key = first.Key
	again.Tags = first.Tags
	got, err := w.baker.Bake(ctx, again.Job)
	if err != nil {
		t.Fatalf("bake again: %v\nlog:\n%s", err, again.log)
	}
	if got == id {
		t.Fatalf("the second run took the dead run's untested image %s", id)
	}
	if img := w.imageState(home, id); img != nil {
		t.Errorf("the dead run's untested image is still there: %+v", img)
	}
	if img := w.imageState(home, got); img == nil || img.Tags[bake.TagTemporary] != "" || img.Tags[bake.TagRun] != run {
		t.Errorf("the image made again: %+v", img)
	}
	w.noLeftovers(t, run)
}

// A RegisterImage whose answer was lost, retried and refused as a name
// taken, finds the image it registered and goes on with it.
func TestSimRegisterAgainAfterALostAnswer(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	im := w.image("uefi", inlineShell("echo built > /etc/built"))
	im.AWS.BootMode = "uefi"
	var mu sync.Mutex
	dropped := false
	w.hook(func(action string) answer {
		mu.Lock()
		defer mu.Unlock()
		if action == "RegisterImage" && !dropped {
			dropped = true
			return drop
		}
		return deliver
	})
	job := w.job(im, run, "")
	id, err := w.baker.Bake(context.Background(), job.Job)
	if err != nil {
		t.Fatalf("bake: %v\nlog:\n%s", err, job.log)
	}
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil || len(out.Images) != 1 || out.Images[0].BootMode != "uefi" || tagValue(out.Images[0].Tags, bake.TagTemporary) != "" {
		t.Errorf("the image: %+v, %v", out, err)
	}
	if !dropped {
		t.Error("no RegisterImage answer was lost")
	}
	w.noLeftovers(t, run)
}
