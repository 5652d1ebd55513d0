package bake

import (
	"maps"

	"github.com/imgraph/imgraph/rules"
)

// The tags imgraph writes. Every one starts with "imgraph:", a prefix an
// image's own tags may not use.
const (
	// TagKey and TagLabel are on every baked image (and copy): Find looks
	// images up by their key, so losing the cache never forces a rebake.
	TagKey   = "imgraph:key"
	TagLabel = "imgraph:label"
	// TagRun, TagTemporary and TagCreated are on every temporary resource
	// of a run (and on an image until it is finished), so that `imgraph
	// cleanup` can find what a killed run left behind.
	TagRun       = "imgraph:run"
	TagTemporary = "imgraph:temporary"
	TagCreated   = "imgraph:created"
	// TagSupersededBy is on an image imgraph deprecated (deprecate_after)
	// because another key of its label was published: that key. Publishing
	// the image again undoes the deprecation, and only then.
	TagSupersededBy = "imgraph:superseded-by"
)

// ImageTags are every tag the image baked from im with key carries: its
// own tags and description (see Want), its key and its label.
func ImageTags(im *rules.Image, key string) map[string]string {
	tags := maps.Clone(Want(im).Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[TagKey] = key
	tags[TagLabel] = im.Label.String()
	return tags
}
