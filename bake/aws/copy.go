package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// copyState is what the steps of one copy share.
type copyState struct {
	b     *Baker
	job   *bake.CopyJob
	from  *ec2.Client // in job.From
	to    *ec2.Client // in job.To
	phase func(string)
	// tags are the copy's tags once it is done: the job's, and the run's id.
	tags map[string]string
	// alive holds what stops the heartbeat of the copy in flight.
	alive []func()

	// step_copy_source
	source *types.Image

	// step_copy_image
	started bool // CopyImage was called, whether or not it answered
	call    *ec2.CopyImageInput
	lost    bool   // its answer is in doubt: it may have started the copy
	imageID string // the copy, once CopyImage answered or an earlier copy is adopted
	done    bool   // the copy is available and is the copy's result
}

// Copy copies a baked image to job.To, encrypted with the image's KMS key
// there, and tags the copy and its snapshots. While the copy is in flight
// it carries the temporary tags; if the copy fails or is cancelled, the
// partial copy is deregistered and its snapshots deleted before Copy
// returns.
func (b *Baker) Copy(ctx context.Context, job *bake.CopyJob) (string, error) {
	s, err := b.newCopyState(job)
	if err != nil {
		return "", copyError(job, err)
	}
	r := &runner[*copyState]{steps: copySteps()}
	stepErr, cleanupErr := r.run(ctx, s)
	for _, done := range s.alive {
		done()
	}
	if err := errors.Join(stepErr, cleanupErr); err != nil {
		return "", copyError(job, err)
	}
	return s.imageID, nil
}

// newCopyState is a copy of job about to start.
func (b *Baker) newCopyState(job *bake.CopyJob) (*copyState, error) {
	if job.Image == nil {
		return nil, errors.New("no image")
	}
	from, err := b.ec2In(job.From)
	if err != nil {
		return nil, err
	}
	to, err := b.ec2In(job.To)
	if err != nil {
		return nil, err
	}
	s := &copyState{b: b, job: job, from: from, to: to, phase: job.Phase, tags: maps.Clone(job.Tags)}
	if s.phase == nil {
		s.phase = func(string) {}
	}
	if s.tags == nil {
		s.tags = map[string]string{}
	}
	s.tags[bake.TagRun] = job.RunID
	return s, nil
}

// beating renews the heartbeat of the copy in flight until stop is
// called, or the copy is over.
func (s *copyState) beating(id string) (stop func()) {
	done := s.b.heart.alive(s.job.To, id)
	s.alive = append(s.alive, done)
	return done
}

// copySteps are the steps of a copy, in order.
func copySteps() []step[*copyState] {
	return []step[*copyState]{
		&stepCopySource{},
		&stepCopyImage{},
	}
}

// copyError says which copy failed.
func copyError(job *bake.CopyJob, err error) error {
	what := "copy"
	if job.Image != nil {
		what = "copy " + job.Image.Label.String()
	}
	return fmt.Errorf("aws: %s from %s to %s: %w", what, job.From, job.To, err)
}
