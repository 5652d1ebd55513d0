package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

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

// Ctrl-C while a failed bake's cleanup waits stops the waiting: what can
// be undone at once is, and the error names what is left.
func TestSimCtrlCDuringCleanupStopsTheWaits(t *testing.T) {
	w := newSimWorld(t, Options{})
	// The group is held for ever, as if its instance never went.
	if _, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultError, Action: "DeleteSecurityGroup", Code: "DependencyViolation",
		Message: "resource sg has a dependent object"}); err != nil {
		t.Fatal(err)
	}
	run := newRunID()
	job := w.job(w.image("interrupted", inlineShell("exit 3")), run, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.hook(func(action string) answer {
		if action == "DeleteSecurityGroup" {
			cancel() // Ctrl-C, while the cleanup waits for the group
		}
		return deliver
	})
	defer w.hook(nil)
	_, err := w.baker.Bake(ctx, job.Job)
	var ce *bake.CleanupError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "is left") || !strings.Contains(err.Error(), bake.ErrHurried.Error()) {
		t.Fatalf("Bake = %v, want the group named as left once the waits stopped", err)
	}
	if n := w.sim.Calls()[home]["DeleteKeyPair"]; n != 1 {
		t.Errorf("DeleteKeyPair called %d times: the cleanups after the hurried one must still run", n)
	}
}
