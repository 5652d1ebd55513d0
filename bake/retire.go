package bake

import (
	"context"
	"fmt"
	"time"
)

// Retirer is what `imgraph gc` asks of a platform that can retire the
// images it baked. It is optional: a Baker that is not one has nothing gc
// can remove. Deciding what goes is the engine's (engine.DecideGC); the
// platform only lists and removes.
type Retirer interface {
	// Baked lists the images the platform baked (those carrying
	// imgraph:key) in regions, finished or not.
	Baked(ctx context.Context, regions []string) ([]BakedImage, error)
	// Published reads the parameters names in region and returns the
	// image id each holds; a parameter that does not exist is absent.
	Published(ctx context.Context, region string, names []string) (map[string]string, error)
	// Retire removes one image, with its storage (an AMI's snapshots, a
	// tree) where no other image uses it. It looks at the image again
	// first: one that is no longer as img says (gone, shared since,
	// temporary, another key's) is left, with a *StillWantedError, and one
	// already gone is no error. What it removed it says, even with an
	// error.
	Retire(ctx context.Context, img BakedImage) (Retired, error)
}

// BakedImage is one image a platform baked, in one region.
type BakedImage struct {
	Label   string // its imgraph:label tag ("" when it has none)
	Key     string // its imgraph:key tag
	Region  string
	ID      string
	Created time.Time
	// Snapshots are the storage the image is made of (an AMI's EBS
	// snapshots); Bytes is their size, as far as the platform knows it.
	Snapshots []string
	Bytes     int64
	// Shared says the image may be launched by other accounts (launch
	// permissions, or public).
	Shared bool
	// Temporary: a bake or copy in progress, or one a killed run left
	// (imgraph:temporary); `imgraph cleanup` deals with those.
	Temporary bool
	// Run is the run that made the image (imgraph:run), and RunLive says
	// the platform saw that run alive (its temporary resources' heartbeat
	// is fresh).
	Run     string
	RunLive bool
	// LiesOn is the image whose storage this one's lies on (a local
	// image's layer on its parent's), "" for none: that image stays as
	// long as this one does.
	LiesOn string
}

// Retired is what Retire removed of one image.
type Retired struct {
	// Gone says the image itself is gone: removed now, or before.
	Gone bool
	// Snapshots are the image's snapshots deleted with it; Kept those
	// left because another image still uses them.
	Snapshots []string
	Kept      []string
	// Freed is the bytes freed, as far as the platform knows them.
	Freed int64
}

// StillWantedError is an image Retire found, when it looked again just
// before removing it, to be one gc must keep.
type StillWantedError struct {
	ID     string
	Reason string
	// NeededBy are the images that need this one's storage (local
	// images whose layers lie on its layer): it may go once they have.
	NeededBy []string
}

func (e *StillWantedError) Error() string {
	return fmt.Sprintf("image %s is kept: %s", e.ID, e.Reason)
}
