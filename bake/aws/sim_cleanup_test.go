package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// killedBake leaves what a bake killed with -9 while its image was being
// made leaves: the steps ran, their cleanups never did.
func (w *simWorld) killedBake(t *testing.T, run string) {
	t.Helper()
	job := w.job(w.image("killed", inlineShell("echo provisioned")), run, "")
	s, err := w.baker.newBakeState(job.Job)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The answer to CreateImage never comes: the process died.
	w.hook(func(action string) answer {
		if action == "CreateImage" {
			cancel()
			return lose
		}
		return deliver
	})
	defer w.hook(nil)
	for _, st := range bakeSteps() {
		if err := st.Run(ctx, s); err != nil {
			if st.Name() != "create image" {
				t.Fatalf("%s: %v", st.Name(), err)
			}
			break
		}
	}
	s.comm.Close()
}

func TestSimCleanupRemovesWhatAKilledRunLeft(t *testing.T) {
	w := newSimWorld(t, Options{})
	dead, living := newRunID(), newRunID()
	w.killedBake(t, dead)
	w.killedBake(t, living)
	left := w.leftovers(dead)
	kinds := map[string]bool{}
	for _, l := range left {
		kinds[strings.Fields(l)[1]] = true
	}
	for _, k := range []string{"instance", "volume", "key", "security", "image"} {
		if !kinds[k] {
			t.Fatalf("the killed bake left no %s: %q", k, left)
		}
	}
	ctx := context.Background()
	regions := []string{home, away}
	alive := func(run string) bool { return run == living }

	// Too young: nothing is touched.
	removed, err := w.baker.Cleanup(ctx, regions, time.Hour, alive, false)
	if err != nil || len(removed) != 0 {
		t.Fatalf("Cleanup(older than 1h) = %v, %v", removed, err)
	}

	// A dry run says what would go, and removes nothing.
	removed, err = w.baker.Cleanup(ctx, regions, 0, alive, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.leftovers(dead); !slices.Equal(got, left) {
		t.Fatalf("the dry run removed something:\nbefore %q\nafter  %q", left, got)
	}
	dry := describeRemoved(removed)
	t.Logf("a dry run would remove:\n%s", dry)

	removed, err = w.baker.Cleanup(ctx, regions, 0, alive, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := describeRemoved(removed); got != dry {
		t.Errorf("removed:\n%s\nthe dry run said:\n%s", got, dry)
	}
	for _, kind := range []string{KindInstance, KindImage, KindSnapshot, KindSecurityGroup, KindKeyPair} {
		if !strings.Contains(dry, " "+kind+" ") {
			t.Errorf("nothing of kind %s removed:\n%s", kind, dry)
		}
	}
	for _, r := range removed {
		if r.Run != dead || r.Region != home {
			t.Errorf("removed %+v: not the dead run's", r)
		}
	}
	w.noLeftovers(t, dead)
	if len(w.leftovers(living)) == 0 {
		t.Error("the living run's resources were removed")
	}

	// Once that run is over, its leftovers go too.
	if _, err := w.baker.Cleanup(ctx, regions, 0, nil, false); err != nil {
		t.Fatal(err)
	}
	w.noLeftovers(t, living)
}

func describeRemoved(rs []Removed) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s %s %s %s\n", r.Region, r.Kind, r.ID, r.Run)
	}
	return b.String()
}

// A cleanup that fails after the image is made does not fail the bake:
// the image is good, the failure is a warning, and Cleanup removes the
// leftover later.
func TestSimCleanupFailureAfterASuccessfulBake(t *testing.T) {
	var warnings []string
	w := newSimWorld(t, Options{Warn: func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }})
	if _, err := w.sim.AddFault(errorFault("DeleteKeyPair")); err != nil {
		t.Fatal(err)
	}
	run := newRunID()
	job := w.job(w.image("leaky"), run, "")
	id, err := w.baker.Bake(context.Background(), job.Job)
	if err != nil || id == "" {
		t.Fatalf("Bake = %q, %v", id, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "key pair: deleting key pair imgraph-key-"+run) ||
		!strings.Contains(warnings[0], "imgraph cleanup") {
		t.Errorf("warnings: %q", warnings)
	}
	if left := w.leftovers(run); len(left) != 1 || !strings.Contains(left[0], "key pair") {
		t.Fatalf("leftovers: %q", left)
	}
	w.sim.ClearFaults()
	removed, err := w.baker.Cleanup(context.Background(), []string{home}, 0, nil, false)
	if err != nil || len(removed) != 1 || removed[0].Kind != KindKeyPair || removed[0].Run != run {
		t.Fatalf("Cleanup = %+v, %v", removed, err)
	}
	w.noLeftovers(t, run)
}
