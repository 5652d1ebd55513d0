package aws

import (
	"context"
	"fmt"

	"github.com/imgraph/imgraph/bake"
)

// stepCopySource finds the image to copy in job.From: the copy takes its
// name and description.
type stepCopySource struct{}

// Name is "": the copy's own errors say what it was doing.
func (*stepCopySource) Name() string { return "" }

func (*stepCopySource) Run(ctx context.Context, s *copyState) error {
	s.phase(bake.PhaseCopy)
	src, err := describeImage(ctx, s.from, s.job.ID)
	if err != nil {
		return err
	}
	if src == nil {
		return fmt.Errorf("image %s does not exist in %s", s.job.ID, s.job.From)
	}
	s.source = src
	return nil
}

// Nothing to undo: it only looks.
func (*stepCopySource) Cleanup(ctx context.Context, s *copyState) error { return nil }
