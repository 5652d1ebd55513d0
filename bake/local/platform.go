package local

import (
	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// Platform is the local platform as plan and explain know it.
type Platform struct{}

var _ bake.Platform = Platform{}

// Name is "local".
func (Platform) Name() string { return rules.PlatformLocal }

// Accepts root filesystems: a directory or tarball, or one fetched by URL.
func (Platform) Accepts(src *rules.Source) bool { return src.Kind == rules.SourceRootfs }

// CheckImageID accepts keys: a local image's id is its key.
func (Platform) CheckImageID(id string) error { return checkID(id) }

// KeyParts is nil: a root filesystem's content is decided by its parent
// or source and its provisioners alone.
func (Platform) KeyParts(im *rules.Image) []bake.KeyPart { return nil }

// Distribution keeps the tags, which Publish records beside the image;
// a local image is shared with no account and published to no parameter.
func (Platform) Distribution(d bake.Distribution) bake.Distribution {
	return bake.Distribution{Tags: d.Tags}
}
