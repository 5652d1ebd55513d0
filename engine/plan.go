package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// Action is what a build does with one image.
type Action string

const (
	ActionCached  Action = "cached"  // baked, everywhere it is wanted, as wanted
	ActionBake    Action = "bake"    // no image has this key yet
	ActionCopy    Action = "copy"    // baked, but missing in a wanted region
	ActionShare   Action = "share"   // baked; its launch permissions changed
	ActionRetag   Action = "retag"   // baked; its tags, description or SSM name changed
	ActionSkipped Action = "skipped" // a parent failed (only after a build)
)

// Target is one image of a plan.
type Target struct {
	Image   *rules.Image
	Key     Key
	Action  Action
	Reasons []string
	Record  *cache.Record // the cached bake, when there is one
	// Found: no cache held the key, but the platform's images did (by their
	// imgraph:key tag); the build records them again.
	Found bool
}

// Plan is what a build will do, in graph order.
type Plan struct {
	Targets []*Target
	ByLabel map[label.Label]*Target
}

// Records is the part of a cache a plan reads.
type Records interface {
	Get(ctx context.Context, keys []string) (map[string]*cache.Record, error)
	Latest(ctx context.Context, label string) (*cache.Record, error)
}

// Checker checks that cached images still exist and are usable; a platform
// implements it. It returns the set of image ids found, per region.
type Checker interface {
	Exist(ctx context.Context, images map[string][]string) (map[string]map[string]bool, error)
}

// Finder finds images by the key they were tagged with, so losing the
// cache never forces a rebake. A Checker may also be a Finder.
type Finder interface {
	// Find returns, for each key some image carries in a region, its id
	// there: key -> region -> image id.
	Find(ctx context.Context, regions []string, keys []string) (map[string]map[string]string, error)
}

// MakePlan decides the action of every image in labels (graph order). A
// cache hit is trusted only once checker has seen its images (checker may be
// nil where the platform has nothing to ask).
func MakePlan(ctx context.Context, g *Graph, labels []label.Label, keys map[label.Label]Key, store Records, checker Checker) (*Plan, error) {
	hexes := make([]string, len(labels))
	for i, l := range labels {
		hexes[i] = keys[l].Hex
	}
	records, err := store.Get(ctx, hexes)
	if err != nil {
		return nil, fmt.Errorf("reading the cache: %w", err)
	}
	gone, err := missingImages(ctx, records, checker)
	if err != nil {
		return nil, err
	}
	found, err := findImages(ctx, g, labels, keys, records, gone, checker)
	if err != nil {
		return nil, err
	}
	p := &Plan{ByLabel: make(map[label.Label]*Target, len(labels))}
	for _, l := range labels {
		im := g.Images[l]
		t := &Target{Image: im, Key: keys[l]}
		rec := records[t.Key.Hex]
		switch {
		case rec != nil && gone[t.Key.Hex] != "":
			t.Action = ActionBake
			t.Reasons = []string{fmt.Sprintf("the cached image %s is gone; baking again", gone[t.Key.Hex])}
		case rec != nil:
			t.Record = rec
			t.Action, t.Reasons = distribution(t, rec)
		case found[t.Key.Hex] != nil:
			t.Record, t.Found = foundRecord(t, found[t.Key.Hex]), true
			t.Action, t.Reasons = distribution(t, t.Record)
			t.Reasons = append([]string{"found by its imgraph:key tag; recorded again"}, t.Reasons...)
		default:
			t.Action = ActionBake
			t.Reasons, err = bakeReasons(ctx, store, t, p)
			if err != nil {
				return nil, err
			}
		}
		p.Targets = append(p.Targets, t)
		p.ByLabel[l] = t
	}
	return p, nil
}

// missingImages asks the checker about every cached image and returns, by
// key, the first image id that no longer exists.
func missingImages(ctx context.Context, records map[string]*cache.Record, checker Checker) (map[string]string, error) {
	gone := map[string]string{}
	if checker == nil || len(records) == 0 {
		return gone, nil
	}
	ask := map[string][]string{}
	for _, rec := range records {
		for region, id := range rec.Images {
			ask[region] = append(ask[region], id)
		}
	}
	found, err := checker.Exist(ctx, ask)
	if err != nil {
		return nil, fmt.Errorf("checking cached images: %w", err)
	}
	for key, rec := range records {
		for _, region := range slices.Sorted(maps.Keys(rec.Images)) {
			if id := rec.Images[region]; !found[region][id] {
				gone[key] = fmt.Sprintf("%s in %s", id, region)
				break
			}
		}
	}
	return gone, nil
}

// findImages asks the platform for the keys no cache holds (or whose
// cached images are gone), in every region the images want.
func findImages(ctx context.Context, g *Graph, labels []label.Label, keys map[label.Label]Key, records map[string]*cache.Record, gone map[string]string, checker Checker) (map[string]map[string]string, error) {
	finder, ok := checker.(Finder)
	if !ok {
		return nil, nil
	}
	var missing []string
	regions := map[string]bool{}
	for _, l := range labels {
		k := keys[l].Hex
		if records[k] == nil || gone[k] != "" {
			missing = append(missing, k)
			for _, r := range g.Images[l].Regions {
				regions[r] = true
			}
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	found, err := finder.Find(ctx, slices.Sorted(maps.Keys(regions)), missing)
	if err != nil {
		return nil, fmt.Errorf("looking for images by their imgraph:key tag: %w", err)
	}
	return found, nil
}

// foundRecord is the record of an image found by its tag, as the build
// will write it: found where it is wanted, it was published when baked.
func foundRecord(t *Target, images map[string]string) *cache.Record {
	im := t.Image
	inputs, _ := json.Marshal(t.Key.Parts)
	rec := &cache.Record{Key: t.Key.Hex, Label: im.Label.String(), Images: maps.Clone(images), Inputs: inputs,
		Tags: WantTags(im), ShareWith: slices.Clone(im.ShareWith), PublishSSM: im.PublishSSM}
	return rec
}

// distribution compares what an image wants with what its bake was given.
// share_with and publish_ssm are the aws platform's: elsewhere they are
// declared (one graph serves both platforms) but mean nothing.
func distribution(t *Target, rec *cache.Record) (Action, []string) {
	im := t.Image
	aws := t.Key.part("platform").Value == rules.PlatformAWS
	var missing []string
	for _, r := range im.Regions {
		if rec.Images[r] == "" {
			missing = append(missing, r)
		}
	}
	var reasons []string
	action := ActionCached
	if len(missing) > 0 {
		action = ActionCopy
		reasons = append(reasons, fmt.Sprintf("not yet in %s", joinAnd(missing)))
	}
	if aws && !slices.Equal(im.ShareWith, sortedCopy(rec.ShareWith)) {
		if action == ActionCached {
			action = ActionShare
		}
		reasons = append(reasons, "share_with changed")
	}
	ssmChanged := aws && im.PublishSSM != rec.PublishSSM
	if !maps.Equal(WantTags(im), rec.Tags) || ssmChanged {
		if action == ActionCached {
			action = ActionRetag
		}
		if ssmChanged {
			reasons = append(reasons, "publish_ssm changed")
		} else {
			reasons = append(reasons, "tags or description changed")
		}
	}
	if action == ActionCached {
		reasons = []string{"baked as " + shortID(rec.Images[im.Regions[0]])}
	}
	return action, reasons
}

// WantTags is the user's tags of an image as the cache records them: the
// description travels as the Description tag, since changing it retags.
func WantTags(im *rules.Image) map[string]string {
	if len(im.Tags) == 0 && im.Description == "" {
		return nil
	}
	t := maps.Clone(im.Tags)
	if t == nil {
		t = map[string]string{}
	}
	if im.Description != "" {
		t["Description"] = im.Description
	}
	return t
}

// bakeReasons says why an image with no cached bake must bake: its parent
// rebakes, it was never baked, or which inputs differ from its last bake.
func bakeReasons(ctx context.Context, store Records, t *Target, p *Plan) ([]string, error) {
	im := t.Image
	if !im.Parent.IsZero() {
		if pt := p.ByLabel[im.Parent]; pt != nil && pt.Action == ActionBake {
			return []string{fmt.Sprintf("parent %s rebakes", im.Parent)}, nil
		}
	}
	last, err := store.Latest(ctx, im.Label.String())
	if err != nil {
		return nil, fmt.Errorf("reading the cache: %w", err)
	}
	if last == nil {
		return []string{"never baked"}, nil
	}
	var old []Part
	if err := json.Unmarshal(last.Inputs, &old); err != nil || len(old) == 0 {
		return []string{"inputs changed since the last bake"}, nil
	}
	var reasons []string
	for _, c := range Diff(old, t.Key.Parts) {
		reasons = append(reasons, c.String())
	}
	if len(reasons) == 0 {
		reasons = []string{"inputs changed since the last bake"}
	}
	return reasons, nil
}

// shortID shortens the ids that are keys (a local image's) for people;
// cloud image ids are short already.
func shortID(id string) string {
	if len(id) == 64 {
		return id[:12]
	}
	return id
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return fmt.Sprintf("%s and %s", strings.Join(xs[:len(xs)-1], ", "), xs[len(xs)-1])
}

func sortedCopy(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

// Counts tallies the plan's actions.
func (p *Plan) Counts() map[Action]int {
	c := map[Action]int{}
	for _, t := range p.Targets {
		c[t.Action]++
	}
	return c
}
