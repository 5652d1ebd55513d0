package aws

import (
	"context"
	"errors"
	"fmt"

	"github.com/imgraph/imgraph/bake"
)

// stepTestImage runs the image's tests on an instance launched from the
// new image, with the bake's network settings, before the image is kept.
// The test's own steps undo what they make before it returns; an image
// that fails its tests goes with stepCreateImage's cleanup.
type stepTestImage struct{}

func (*stepTestImage) Name() string { return "" } // the test's errors name it

func (*stepTestImage) Run(ctx context.Context, s *bakeState) error {
	if len(s.job.Image.Tests) == 0 {
		return nil
	}
	return s.b.test(ctx, &bake.TestJob{
		Image: s.job.Image, Key: s.job.Key, RunID: s.job.RunID, Region: s.region, ID: s.imageID,
		Env: s.job.TestEnv, Log: s.log, Phase: s.phase,
	})
}

func (*stepTestImage) Cleanup(ctx context.Context, s *bakeState) error { return nil }

// Test runs job's tests on a fresh instance of job.ID, and removes that
// instance and every temporary resource of the test on every path out.
func (b *Baker) Test(ctx context.Context, job *bake.TestJob) error {
	if job.Image == nil {
		return errors.New("aws: test of a job with no image")
	}
	return b.test(ctx, job)
}

func (b *Baker) test(ctx context.Context, job *bake.TestJob) error {
	label := job.Image.Label.String()
	if len(job.Image.Tests) == 0 {
		return nil
	}
	// A test is a bake of the image up to its provisioners, which are
	// its tests; its key pair, group and instance are its own.
	im := *job.Image
	im.Provision = job.Image.Tests
	s, err := b.newBakeState(&bake.Job{
		Image: &im, Key: job.Key, RunID: job.RunID, Region: job.Region, Parent: job.ID,
		Env: job.Env, Log: job.Log, Phase: job.Phase,
	})
	if err != nil {
		return err
	}
	s.testing = true
	s.phase(bake.PhaseTest)
	fmt.Fprintf(s.log, "==> testing image %s on an instance of its own\n", job.ID)
	r := &runner[*bakeState]{steps: testSteps(), cleaning: func() { s.phase(bake.PhaseCleanup) }}
	stepErr, cleanupErr := r.run(ctx, s)
	for _, done := range s.alive {
		done()
	}
	if stepErr == nil && cleanupErr != nil {
		// The tests passed: what failed is undoing a temporary, which
		// `imgraph cleanup` can still remove.
		b.warn("aws: test %s: %v", label, cleanupErr)
		fmt.Fprintf(s.log, "==> warning: %v\n", cleanupErr)
		return nil
	}
	var failed *bake.TestFailure
	if errors.As(stepErr, &failed) && cleanupErr == nil {
		return failed
	}
	if err := errors.Join(stepErr, cleanupErr); err != nil {
		return fmt.Errorf("aws: test %s: %w", label, err)
	}
	return nil
}
