package aws

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// Cancelled as each step starts, the bake stops with the cancellation,
// names the image and the step, and leaves nothing behind.
func TestSimCancelAtEachPhase(t *testing.T) {
	w := newSimWorld(t, Options{})
	for _, phase := range []string{"prepare", "security group", "launch", "authorize ssh", "connect", "upload",
		"provision [0] shell", "provision [1] copy", "capture", "create image"} {
		t.Run(phase, func(t *testing.T) {
			run := newRunID()
			files := &pkgFiles{t: t, dir: t.TempDir()}
			im := w.image("cancelled", inlineShell("echo one > /etc/one"),
				copyProvisioner(files.file("f.conf", "conf", 0o644), "/etc/f.conf"))
			job := w.job(im, run, "")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			job.onPhase = func(p string) {
				if p == phase {
					cancel()
				}
			}
			id, err := w.baker.Bake(ctx, job.Job)
			if err == nil {
				t.Fatalf("Bake = %s, want it cancelled", id)
			}
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "aws: bake //t:cancelled: ") {
				t.Errorf("error = %v", err)
			}
			var ce *bake.CleanupError
			if errors.As(err, &ce) {
				t.Errorf("cleanup failed: %v", ce)
			}
			if p := job.Phases(); p[len(p)-1] != "cleanup" {
				t.Errorf("phases: %q", p)
			}
			w.noLeftovers(t, run)
		})
	}
}

// Cancelled while a call that makes something is in flight, so that EC2
// made it and the bake never heard back: the cleanups find it by its name
// or tags.
func TestSimCancelWhileACallIsInFlight(t *testing.T) {
	w := newSimWorld(t, Options{})
	for _, action := range []string{"ImportKeyPair", "CreateSecurityGroup", "RunInstances", "AuthorizeSecurityGroupIngress",
		"StopInstances", "CreateImage", "DeleteTags"} {
		t.Run(action, func(t *testing.T) {
			run := newRunID()
			job := w.job(w.image("lost"), run, "")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hit := false
			w.hook(func(a string) answer {
				if a == action && !hit {
					hit = true
					cancel()
					return lose
				}
				return deliver
			})
			defer w.hook(nil)
			_, err := w.baker.Bake(ctx, job.Job)
			if !hit {
				t.Fatalf("the bake never called %s", action)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			var ce *bake.CleanupError
			if errors.As(err, &ce) {
				t.Errorf("cleanup failed: %v", ce)
			}
			w.noLeftovers(t, run)
		})
	}
}

// cancelOn is a log that cancels the bake once a line appears in it.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

// Cancelled while a provisioner runs: the command is killed, the bake
// returns at once and cleans up.
func TestSimCancelDuringAProvisioner(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	job := w.job(w.image("slow", inlineShell("echo provisioner-started", "sleep 120")), run, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &cancelOn{marker: "provisioner-started", cancel: cancel}
	job.Log = log
	start := time.Now()
	_, err := w.baker.Bake(ctx, job.Job)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "provision [0] shell (inline)") {
		t.Fatalf("error = %v\nlog:\n%s", err, log.buf.String())
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("the cancelled bake took %s", d)
	}
	w.noLeftovers(t, run)
}

// As above, while what the call made does not show in EC2's answers yet
// (eventual consistency): a cleanup that looks once finds nothing and
// leaks it. A cleanup must learn the id of what it asked for.
func TestSimCancelWhileACallIsInFlightAndNotYetVisible(t *testing.T) {
	for _, action := range []string{"RunInstances", "CreateImage", "CopyImage"} {
		t.Run(action, func(t *testing.T) {
			w := newSimWorld(t, Options{})
			if _, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultLateVisibility, Action: action, Describes: 4}); err != nil {
				t.Fatal(err)
			}
			run := newRunID()
			job := w.job(w.image("unseen"), run, "")
			var source string
			if action == "CopyImage" {
				job, source = w.bakeOne(t, run)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hit := false
			w.hook(func(a string) answer {
				if a == action && !hit {
					hit = true
					cancel()
					return lose
				}
				return deliver
			})
			defer w.hook(nil)
			var err error
			if action == "CopyImage" {
				_, err = w.baker.Copy(ctx, copyJob(job, source))
			} else {
				_, err = w.baker.Bake(ctx, job.Job)
			}
			if !hit {
				t.Fatalf("never called %s", action)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			var ce *bake.CleanupError
			if errors.As(err, &ce) {
				t.Errorf("cleanup failed: %v", ce)
			}
			w.noLeftovers(t, run)
		})
	}
}
