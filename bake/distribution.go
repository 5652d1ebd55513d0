package bake

import (
	"maps"
	"slices"
	"time"

	"github.com/imgraph/imgraph/rules"
)

// Distribution is how a baked image is handed out, apart from the regions
// it is copied to. It is never part of the image's key: changing it
// retags or shares the image, it never rebakes it.
type Distribution struct {
	// Tags are the image's own tags, with its description as the
	// Description tag (so that changing it retags); nil when it has none.
	Tags map[string]string
	// ShareWith are the accounts and organizations allowed to launch the
	// image, sorted.
	ShareWith []string
	// PublishSSM is the SSM parameter that receives the image's id.
	PublishSSM string
	// LaunchTemplates get a new default version that launches the image,
	// in each region it is published in; sorted.
	LaunchTemplates []string
	// DeprecateAfter, when not 0, deprecates the images of the label that
	// the image supersedes this long after it is published.
	DeprecateAfter time.Duration
}

// Want is the whole distribution im declares; a platform's Distribution
// keeps what it applies of it.
func Want(im *rules.Image) Distribution {
	d := Distribution{
		ShareWith: slices.Clone(im.ShareWith), PublishSSM: im.PublishSSM,
		LaunchTemplates: slices.Clone(im.LaunchTemplates), DeprecateAfter: im.DeprecateAfter,
	}
	if len(im.Tags) > 0 || im.Description != "" {
		d.Tags = maps.Clone(im.Tags)
		if d.Tags == nil {
			d.Tags = map[string]string{}
		}
		if im.Description != "" {
			d.Tags["Description"] = im.Description
		}
	}
	return d
}

// TagsEqual reports whether d and o carry the same tags.
func (d Distribution) TagsEqual(o Distribution) bool { return maps.Equal(d.Tags, o.Tags) }

// ShareEqual reports whether d and o share with the same accounts, in any
// order.
func (d Distribution) ShareEqual(o Distribution) bool {
	return slices.Equal(sorted(d.ShareWith), sorted(o.ShareWith))
}

// LaunchTemplatesEqual reports whether d and o name the same launch
// templates, in any order.
func (d Distribution) LaunchTemplatesEqual(o Distribution) bool {
	return slices.Equal(sorted(d.LaunchTemplates), sorted(o.LaunchTemplates))
}

// IsZero reports whether d gives the image nothing.
func (d Distribution) IsZero() bool {
	return len(d.Tags) == 0 && len(d.ShareWith) == 0 && d.PublishSSM == "" && len(d.LaunchTemplates) == 0 && d.DeprecateAfter == 0
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
