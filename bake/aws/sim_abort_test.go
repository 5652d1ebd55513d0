package aws

import (
	"context"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/rules"
)

// With AbortDir, a bake that fails once its instance was stopped to be
// imaged (its tests fail) has nothing to reach: it cleans up as always.
// One that fails while the instance runs leaves it, and says so.
func TestSimAbortLeavesOnlyARunningInstance(t *testing.T) {
	w := newSimWorld(t, Options{AbortDir: t.TempDir()})
	ctx := context.Background()

	run := newRunID()
	im := w.image("untested", inlineShell("true"))
	im.Tests = []rules.Provisioner{inlineShell("exit 1")}
	job := w.job(im, run, "")
	if _, err := w.baker.Bake(ctx, job.Job); err == nil || strings.Contains(err.Error(), "left for debugging") {
		t.Fatalf("bake whose tests fail: %v", err)
	}
	if !strings.Contains(job.log.String(), "was imaged: cleaning up") {
		t.Errorf("the log does not say why nothing was left:\n%s", job.log)
	}
	w.noLeftovers(t, run)

	run = newRunID()
	job = w.job(w.image("broken", inlineShell("exit 3")), run, "")
	_, err := w.baker.Bake(ctx, job.Job)
	if err == nil || !strings.Contains(err.Error(), "left for debugging (--on-error=abort)") || !strings.Contains(err.Error(), "imgraph cleanup --run "+run) {
		t.Fatalf("bake whose provisioner fails: %v", err)
	}
	if left := w.leftovers(run); len(left) != 4 {
		t.Errorf("left %v, want the instance, its volume, key pair and group", left)
	}
}
