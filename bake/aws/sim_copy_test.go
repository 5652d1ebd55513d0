package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

func copyJob(job *testJob, id string) *bake.CopyJob {
	return &bake.CopyJob{Image: job.Image, Key: job.Key, RunID: job.RunID, ID: id, From: home, To: away,
		Tags: job.Tags, Phase: job.Phase}
}

func publishJob(job *testJob, id, region string) *bake.PublishJob {
	return &bake.PublishJob{Image: job.Image, ID: id, Region: region, Tags: job.Tags, Distribution: bake.Want(job.Image)}
}

// bakeOne bakes a small image for the copy and publish tests.
func (w *simWorld) bakeOne(t *testing.T, run string) (*testJob, string) {
	t.Helper()
	job := w.job(w.image("dist", inlineShell("echo dist > /etc/dist")), run, "")
	id, err := w.baker.Bake(context.Background(), job.Job)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, job.log)
	}
	return job, id
}

func TestSimCopyAndPublish(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	job, id := w.bakeOne(t, run)
	job.Image.AWS.KMSKey = "arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef"
	ctx := context.Background()
	copyID, err := w.baker.Copy(ctx, copyJob(job, id))
	if err != nil {
		t.Fatal(err)
	}
	img := w.imageState(away, copyID)
	if img == nil || img.State != "available" || img.SourceImage != id || img.SourceRegion != home {
		t.Fatalf("copy: %+v", img)
	}
	if img.Tags[bake.TagKey] != job.Key || img.Tags["Team"] != "images" || img.Tags[bake.TagTemporary] != "" {
		t.Errorf("copy tags: %v", img.Tags)
	}
	for _, sn := range w.sim.State().Regions[away].Snapshots {
		if slices.Contains(img.Snapshots, sn.ID) {
			if sn.Tags[bake.TagKey] != job.Key || sn.Tags[bake.TagTemporary] != "" || !sn.Encrypted ||
				sn.KmsKeyID != "" && !strings.Contains(sn.KmsKeyID, "eu-west-1") {
				t.Errorf("copy's snapshot %s: tags %v, encrypted %v, key %q", sn.ID, sn.Tags, sn.Encrypted, sn.KmsKeyID)
			}
		}
	}

	// Publish: tags, launch permissions, the SSM parameter.
	job.Image.ShareWith = []string{"111111111111", "222222222222", "arn:aws:organizations::123456789012:organization/o-abcdef1234"}
	job.Image.PublishSSM = "/imgraph/t/dist"
	job.Tags["Stage"] = "prod"
	if err := w.baker.Publish(ctx, publishJob(job, copyID, away)); err != nil {
		t.Fatal(err)
	}
	img = w.imageState(away, copyID)
	if img.Tags["Stage"] != "prod" {
		t.Errorf("tags after publish: %v", img.Tags)
	}
	perms := func() []string {
		var out []string
		for _, p := range w.imageState(away, copyID).LaunchPermissions {
			switch {
			case p.UserID != "":
				out = append(out, p.UserID)
			case p.OrganizationArn != "":
				out = append(out, p.OrganizationArn)
			case p.OrganizationalUnitArn != "":
				out = append(out, p.OrganizationalUnitArn)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := perms(); !slices.Equal(got, []string{"111111111111", "222222222222", "arn:aws:organizations::123456789012:organization/o-abcdef1234"}) {
		t.Errorf("launch permissions: %q", got)
	}
	param := ""
	for _, p := range w.sim.State().Regions[away].Parameters {
		if p.Name == "/imgraph/t/dist" {
			param = p.Value
			if p.DataType != "aws:ec2:image" || p.Type != "String" {
				t.Errorf("parameter: %+v", p)
			}
		}
	}
	if param != copyID {
		t.Errorf("parameter holds %q, want %s", param, copyID)
	}

	// Sharing with fewer: the others' permissions are removed; publishing
	// again overwrites the parameter.
	job.Image.ShareWith = []string{"222222222222"}
	if err := w.baker.Publish(ctx, publishJob(job, copyID, away)); err != nil {
		t.Fatal(err)
	}
	if got := perms(); !slices.Equal(got, []string{"222222222222"}) {
		t.Errorf("launch permissions after unsharing: %q", got)
	}

	// The home image's snapshots get the publish tags too.
	if err := w.baker.Publish(ctx, publishJob(job, id, home)); err != nil {
		t.Fatal(err)
	}
	homeImg := w.imageState(home, id)
	for _, sn := range w.sim.State().Regions[home].Snapshots {
		if slices.Contains(homeImg.Snapshots, sn.ID) && sn.Tags["Stage"] != "prod" {
			t.Errorf("home snapshot %s tags: %v", sn.ID, sn.Tags)
		}
	}
	w.noLeftovers(t, run)
}

// A copy that fails, or is cancelled in flight, leaves no partial copy or
// snapshot in the destination.
func TestSimCopyFailureAndCancellation(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	job, id := w.bakeOne(t, run)
	ctx := context.Background()

	w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultCopyFails, Times: 1})
	_, err := w.baker.Copy(ctx, copyJob(job, id))
	if err == nil || !strings.Contains(err.Error(), "aws: copy //t:dist from us-east-1 to eu-west-1: ") ||
		!strings.Contains(err.Error(), "failed") {
		t.Fatalf("Copy = %v", err)
	}
	w.noLeftovers(t, run)

	// Cancelled while the copy is in flight (after CopyImage answered).
	cctx, cancel := context.WithCancel(ctx)
	w.hook(func(action string) answer {
		if action == "CopyImage" {
			cancel()
		}
		return deliver
	})
	_, err = w.baker.Copy(cctx, copyJob(job, id))
	w.hook(nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy = %v, want context.Canceled", err)
	}
	w.noLeftovers(t, run)

	// Cancelled while CopyImage is in flight: EC2 started the copy, and
	// its answer never came back.
	cctx, cancel = context.WithCancel(ctx)
	w.hook(func(action string) answer {
		if action == "CopyImage" {
			cancel()
			return lose
		}
		return deliver
	})
	_, err = w.baker.Copy(cctx, copyJob(job, id))
	w.hook(nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy = %v, want context.Canceled", err)
	}
	w.noLeftovers(t, run)
	if imgs := w.sim.State().Regions[away].Images; len(imgs) != 0 {
		t.Errorf("images left in %s: %+v", away, imgs)
	}
}

// A copy whose name an earlier copy of the same image holds, from a run
// that died before recording it, adopts that copy. Neither reports the
// cleanup phase: there is nothing to undo.
func TestSimCopyAdoptsAnEarlierCopy(t *testing.T) {
	w := newSimWorld(t, Options{})
	dead, run := newRunID(), newRunID()
	job, id := w.bakeOne(t, dead)
	ctx := context.Background()
	first, err := w.baker.Copy(ctx, copyJob(job, id))
	if err != nil {
		t.Fatal(err)
	}

	job.RunID = run
	before := len(job.Phases())
	again, err := w.baker.Copy(ctx, copyJob(job, id))
	if err != nil || again != first {
		t.Fatalf("Copy = %s, %v; want the earlier copy %s", again, err, first)
	}
	if imgs := w.sim.State().Regions[away].Images; len(imgs) != 1 {
		t.Errorf("images in %s: %+v", away, imgs)
	}
	// A finished copy is taken as it is: it stays the run's that made it.
	if img := w.imageState(away, again); img.Tags[bake.TagRun] != dead || img.Tags[bake.TagTemporary] != "" {
		t.Errorf("adopted copy's tags: %v", img.Tags)
	}
	if got := job.Phases()[before:]; !slices.Equal(got, []string{bake.PhaseCopy}) {
		t.Errorf("phases of the copy: %q, want [copy]", got)
	}
	w.noLeftovers(t, run)
}

// Exist checks every image of a region with one DescribeImages call, and
// an unknown id does not fail it.
func TestSimExist(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	job, id := w.bakeOne(t, run)
	ctx := context.Background()
	copyID, err := w.baker.Copy(ctx, copyJob(job, id))
	if err != nil {
		t.Fatal(err)
	}
	w.sim.ResetCalls()
	ref := func(region, id, key string) bake.ImageRef { return bake.ImageRef{Key: key, Region: region, ID: id} }
	want := map[bake.ImageRef]bool{
		ref(home, id, job.Key):                      true,
		ref(home, w.base, job.Key):                  true, // it carries no key: taken at its word
		ref(home, "ami-00000000000000000", job.Key): false,
		ref(away, copyID, job.Key):                  true,
		ref(away, id, job.Key):                      false,
		ref(home, id, randomKey()):                  false, // an image of another key
	}
	got, err := w.baker.Exist(ctx, slices.Collect(maps.Keys(want)))
	if err != nil {
		t.Fatal(err)
	}
	for r, ok := range want {
		if got[r] != ok {
			t.Errorf("Exist[%+v] = %v, want %v", r, got[r], ok)
		}
	}
	calls := w.sim.Calls()
	for _, region := range []string{home, away} {
		if n := calls[region]["DescribeImages"]; n != 1 {
			t.Errorf("%d DescribeImages calls in %s, want 1 (all calls: %v)", n, region, calls[region])
		}
		if len(calls[region]) != 1 {
			t.Errorf("calls in %s: %v", region, calls[region])
		}
	}

	// More than 200 images: one call per 200.
	many := []bake.ImageRef{ref(home, id, job.Key)}
	for i := range 250 {
		many = append(many, ref(home, fmt.Sprintf("ami-%017x", i+1), job.Key))
	}
	w.sim.ResetCalls()
	got, err = w.baker.Exist(ctx, many)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.sim.Calls()[home]["DescribeImages"]; n != 2 {
		t.Errorf("%d DescribeImages calls for 251 images, want 2", n)
	}
	if len(got) != 251 || !got[many[0]] || got[many[250]] {
		t.Errorf("Exist of 251 images: %d answers, %s: %v", len(got), id, got[many[0]])
	}
}
