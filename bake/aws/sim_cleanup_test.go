package aws

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// A build instance that cannot be terminated (TerminateInstances denied)
// holds its security group: the cleanup says so at once, with both, rather
// than waiting for the group to be let go, which cannot happen.
func TestSimDeniedTerminationIsNotWaitedFor(t *testing.T) {
	w := newSimWorld(t, Options{})
	if _, err := w.sim.AddFault(errorFault("TerminateInstances")); err != nil {
		t.Fatal(err)
	}
	run := newRunID()
	job := w.job(w.image("stuck", inlineShell("exit 3")), run, "")
	_, err := w.baker.Bake(context.Background(), job.Job)
	var ce *bake.CleanupError
	if !errors.As(err, &ce) {
		t.Fatalf("Bake = %v, want a cleanup error", err)
	}
	msg := err.Error()
	for _, want := range []string{"exited with status 3", "terminating i-", "UnauthorizedOperation",
		"could not be terminated", "`imgraph cleanup` removes them"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
	if n := w.sim.Calls()[home]["DeleteSecurityGroup"]; n != 1 {
		t.Errorf("DeleteSecurityGroup called %d times, want once: the group cannot go while the instance runs", n)
	}
	// The key pair, which nothing holds, is gone all the same.
	for _, k := range w.sim.State().Regions[home].KeyPairs {
		if k.Tags[bake.TagRun] == run {
			t.Errorf("key pair %s was left", k.Name)
		}
	}
}

// The first Ctrl-C while a failed bake's cleanup waits leaves the wait
// alone (the cleanup is what it asks for); the second stops the waiting:
// what can be undone at once is, and the error names what is left.
func TestSimCtrlCDuringCleanupStopsTheWaits(t *testing.T) {
	w := newSimWorld(t, Options{})
	// The group is held for ever, as if its instance never went.
	if _, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultError, Action: "DeleteSecurityGroup", Code: "DependencyViolation",
		Message: "resource sg has a dependent object"}); err != nil {
		t.Fatal(err)
	}
	run := newRunID()
	job := w.job(w.image("interrupted", inlineShell("exit 3")), run, "")
	hurry := make(chan struct{})
	ctx, cancel := context.WithCancel(bake.WithHurry(context.Background(), hurry))
	defer cancel()
	deletes := 0
	w.hook(func(action string) answer {
		if action == "DeleteSecurityGroup" {
			switch deletes++; deletes {
			case 1:
				cancel() // Ctrl-C, while the cleanup waits for the group
			case 2:
				close(hurry) // and again
			}
		}
		return deliver
	})
	defer w.hook(nil)
	_, err := w.baker.Bake(ctx, job.Job)
	var ce *bake.CleanupError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "is left") || !strings.Contains(err.Error(), bake.ErrHurried.Error()) {
		t.Fatalf("Bake = %v, want the group named as left once the waits stopped", err)
	}
	if deletes < 2 {
		t.Errorf("DeleteSecurityGroup called %d times: the first Ctrl-C stopped the wait", deletes)
	}
	if n := w.sim.Calls()[home]["DeleteKeyPair"]; n != 1 {
		t.Errorf("DeleteKeyPair called %d times: the cleanups after the hurried one must still run", n)
	}
}

// Two runs that bake one key at once (each on its own cache, say) make
// one image: the image's name is its key's, so the run whose CreateImage
// comes second waits for the first's image and takes it. Neither leaves
// anything behind, and a copy of it is made once too.
func TestSimTwoRunsBakeOneKeyOnce(t *testing.T) {
	w := newSimWorld(t, Options{})
	im := w.image("shared", inlineShell("echo shared > /etc/shared"))
	first, second := newRunID(), newRunID()
	a, b := w.job(im, first, ""), w.job(im, second, "")
	b.Key, b.Tags = a.Key, a.Tags
	ids := make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, job := range []*testJob{a, b} {
		wg.Go(func() { ids[i], errs[i] = w.baker.Bake(context.Background(), job.Job) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || ids[0] != ids[1] {
		t.Fatalf("bakes: %v (%v), %v (%v); want one image for both", ids[0], errs[0], ids[1], errs[1])
	}
	copies := make([]string, 2)
	for i, job := range []*testJob{a, b} {
		wg.Go(func() { copies[i], errs[i] = w.baker.Copy(context.Background(), copyJob(job, ids[0])) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || copies[0] != copies[1] {
		t.Fatalf("copies: %v (%v), %v (%v); want one copy for both", copies[0], errs[0], copies[1], errs[1])
	}
	for region, want := range map[string]int{home: 1, away: 1} {
		n := 0
		for _, img := range w.sim.State().Regions[region].Images {
			if img.Tags[bake.TagKey] == a.Key {
				n++
			}
		}
		if n != want {
			t.Errorf("%d images of the key in %s, want %d", n, region, want)
		}
	}
	w.noLeftovers(t, first)
	w.noLeftovers(t, second)
}

// imgraph cleanup looks at a dead run's image again just before it
// deregisters it: another run may have adopted it (see claimImage) while
// the cleanup waited for instances to go, and recorded it as its own.
func TestSimCleanupSparesAnImageAdoptedMeanwhile(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	dead, adopter := newRunID(), newRunID()
	long := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	leftover := toTags(map[string]string{bake.TagRun: dead, bake.TagTemporary: "true", bake.TagCreated: long, TagHeartbeat: long})
	inst, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: awssdk.String(w.base), InstanceType: types.InstanceTypeT3Micro, MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1),
		TagSpecifications: tagSpecs(leftover, types.ResourceTypeInstance),
	})
	if err != nil {
		t.Fatal(err)
	}
	running := func(ctx context.Context) (bool, error) {
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{awssdk.ToString(inst.Instances[0].InstanceId)}})
		if err != nil || len(out.Reservations) == 0 {
			return false, err
		}
		return out.Reservations[0].Instances[0].State.Name == types.InstanceStateNameRunning, nil
	}
	if err := waitFor(ctx, w.baker.opts.PollInterval, time.Minute, "the instance to run", running); err != nil {
		t.Fatal(err)
	}
	img, err := client.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: inst.Instances[0].InstanceId, Name: awssdk.String("imgraph-t-left-0123"),
		TagSpecifications: tagSpecs(leftover, types.ResourceTypeImage, types.ResourceTypeSnapshot),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := awssdk.ToString(img.ImageId)
	if _, err := waitForImage(ctx, client, id, home, w.baker.opts.PollInterval, time.Minute); err != nil {
		t.Fatal(err)
	}
	var adopted error
	w.hook(func(action string) answer {
		if action == "TerminateInstances" {
			// While the cleanup waits for the dead run's instance, the
			// adopter finishes the image and takes it.
			w.hook(nil)
			now, err := describeImage(ctx, client, id)
			if err == nil {
				err = tagImage(ctx, client, now, map[string]string{bake.TagRun: adopter}, bake.TagTemporary, bake.TagCreated, TagHeartbeat)
			}
			adopted = err
		}
		return deliver
	})
	defer w.hook(nil)
	removed, _, err := w.baker.Cleanup(ctx, []string{home}, CleanupOptions{})
	if err != nil || adopted != nil {
		t.Fatalf("Cleanup: %v; adopting: %v", err, adopted)
	}
	for _, r := range removed {
		if r.Kind == KindImage || r.Kind == KindSnapshot {
			t.Errorf("cleanup removed %s %s, which another run adopted", r.Kind, r.ID)
		}
	}
	if now, err := describeImage(ctx, client, id); err != nil || now == nil || now.State != types.ImageStateAvailable {
		t.Errorf("the adopted image is %v (%v), want it available", now, err)
	}
	if !slices.ContainsFunc(removed, func(r Removed) bool { return r.Kind == KindInstance }) {
		t.Errorf("removed %v, want the dead run's instance", removed)
	}
}
