package local_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/rules"
)

// A test sees the baked tree without imgraph's own files, through its own
// env; Test runs it again on the image; a test that fails is a
// TestFailure naming it, and its image never appears.
func TestImageTests(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	im := image("tested", inline("echo built > /etc/built"))
	im.Tests = []rules.Provisioner{{Kind: rules.ProvisionShell, Env: map[string]string{"WANT": "built"},
		Inline: []string{`test "$(cat /etc/built)" = "$WANT"`, "if ls -d /tmp/imgraph-* 2>/dev/null; then exit 1; fi", "echo wrote > /etc/by-test"}}}
	job := rootJob(im, testrootfs.New(t))
	job.TestEnv, _, _ = bake.TestEnvironment(im, nil)
	id, log := bakeOK(t, b, job)
	if imageFile(t, b, id, "etc/built") != "built\n" {
		t.Error("the tested image lost what its bake wrote")
	}
	if exists(b.ImageDir(id) + "/etc/by-test") {
		t.Errorf("what the test wrote reached the image; log:\n%s", log)
	}
	if err := b.Test(context.Background(), &bake.TestJob{Image: im, Key: id, ID: id, Env: job.TestEnv}); err != nil {
		t.Errorf("Test of the baked image: %v", err)
	}

	bad := image("failing", inline("true"))
	bad.Tests = []rules.Provisioner{inline("true"), inline("exit 4")}
	badJob := rootJob(bad, testrootfs.New(t))
	_, err := b.Bake(context.Background(), badJob)
	var failed *bake.TestFailure
	if !errors.As(err, &failed) || failed.Test != "test [1] shell (inline)" {
		t.Fatalf("bake with a failing test: %v, want a TestFailure naming test [1]", err)
	}
	if exists(b.ImageDir(badJob.Key)) || len(leftovers(t, store)) > 0 {
		t.Errorf("the image that failed its test appeared, or trees were left: %v", leftovers(t, store))
	}
}

// Ctrl-C during a test leaves no image and no tree.
func TestCancelDuringATest(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	im := image("cancelled", inline("true"))
	im.Tests = []rules.Provisioner{inline("sleep 60")}
	job := rootJob(im, testrootfs.New(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job.Phase = func(p string) {
		if p == "test [0] shell" {
			cancel()
		}
	}
	if _, err := b.Bake(ctx, job); !errors.Is(err, context.Canceled) {
		t.Fatalf("bake cancelled during its test: %v", err)
	}
	if exists(b.ImageDir(job.Key)) || len(leftovers(t, store)) > 0 {
		t.Errorf("a cancelled test left the image or trees: %v", leftovers(t, store))
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
