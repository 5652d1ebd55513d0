package aws

import (
	"context"
	"fmt"

	"github.com/imgraph/imgraph/bake"
)

// stepKeepImage makes the bake's image its result, once it is available
// and has passed its tests: the temporary tags go, so no cleanup takes it
// for a dead run's, and Find sees it.
type stepKeepImage struct{}

func (*stepKeepImage) Name() string { return "keep image" }

func (*stepKeepImage) Run(ctx context.Context, s *bakeState) error {
	if s.imageDone {
		return nil // another run's image, which that run keeps
	}
	s.imageBeat() // before the tags go, or a late beat could put one back
	if err := tagImage(ctx, s.ec2, s.image, nil, bake.TagTemporary, bake.TagCreated, TagHeartbeat); err != nil {
		return err
	}
	s.imageDone = true
	fmt.Fprintf(s.log, "==> image %s is kept\n", s.imageID)
	return nil
}

func (*stepKeepImage) Cleanup(ctx context.Context, s *bakeState) error { return nil }
