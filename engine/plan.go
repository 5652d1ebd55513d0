package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/imgraph/imgraph/bake"
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
	ActionTest    Action = "test"    // baked; its tests changed since it last passed them
	ActionSkipped Action = "skipped" // not done: a parent failed, or (imgraph test) not baked
)

// Target is one image of a plan.
type Target struct {
	Image *rules.Image
	Key   Key
	// SourceID is the image id a root image starts from, where its source
	// names one (see SourceIDs).
	SourceID string
	Action   Action
	Reasons  []string
	Record   *cache.Record // the cached bake, when there is one
	// Found: no cache held the key, but the platform's images did (by their
	// imgraph:key tag); the build records them again.
	Found bool
}

// Plan is what a build will do, in graph order, on one platform.
type Plan struct {
	Platform bake.Platform
	Targets  []*Target
	ByLabel  map[label.Label]*Target
	// Warnings are what the user should hear of the cache: records whose
	// images are gone, which the plan bakes again.
	Warnings []string
}

// Records is the part of a cache a plan reads.
type Records interface {
	Get(ctx context.Context, keys []string) (map[string]*cache.Record, error)
	Latest(ctx context.Context, label string) (*cache.Record, error)
}

// Images is what a plan asks of the platform's images: whether cached ones
// still exist, and which keys were baked without a cache knowing (a
// bake.Baker is one). Where the platform cannot be reached it is nil, and
// cache hits are trusted as they are.
type Images interface {
	Exist(ctx context.Context, images []bake.ImageRef) (map[bake.ImageRef]bool, error)
	Find(ctx context.Context, regions []string, keys []string) (map[string]map[string]string, error)
}

// MakePlan decides the action of every image of the analysis's closure
// (graph order). A cache hit is trusted only once images has seen it.
func MakePlan(ctx context.Context, a *Analysis, store Records, images Images) (*Plan, error) {
	g, labels := a.Graph, a.Closure
	hexes := make([]string, len(labels))
	for i, l := range labels {
		hexes[i] = a.Keys[l].Hex
	}
	records, err := store.Get(ctx, hexes)
	if err != nil {
		return nil, fmt.Errorf("reading the cache: %w", err)
	}
	gone, err := missingImages(ctx, records, images)
	if err != nil {
		return nil, err
	}
	found, err := findImages(ctx, a, records, gone, images)
	if err != nil {
		return nil, err
	}
	p := &Plan{Platform: a.Platform, ByLabel: make(map[label.Label]*Target, len(labels))}
	for _, l := range labels {
		t := &Target{Image: g.Images[l], Key: a.Keys[l], SourceID: a.Sources[l]}
		rec := records[t.Key.Hex]
		switch {
		case rec != nil && gone[t.Key.Hex] != "":
			t.Action = ActionBake
			t.Reasons = []string{fmt.Sprintf("the cached image %s; baking again", gone[t.Key.Hex])}
			p.Warnings = append(p.Warnings, fmt.Sprintf("the cache's record of %s (key %s) is of no use: the cached image %s; it bakes again",
				l, t.Key.Short(), gone[t.Key.Hex]))
		case rec != nil:
			t.Record = rec
			t.Action, t.Reasons = distribution(p.Platform, t, rec)
			if err := republishIfSuperseded(ctx, store, p.Platform, t); err != nil {
				return nil, err
			}
			retest(t)
		case found[t.Key.Hex] != nil:
			t.Record, t.Found = foundRecord(t, found[t.Key.Hex]), true
			t.Action, t.Reasons = distribution(p.Platform, t, t.Record)
			retest(t)
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

// missingImages asks the platform about every cached image and says, by
// key, what is wrong with a record whose image is gone (or that names
// none).
func missingImages(ctx context.Context, records map[string]*cache.Record, images Images) (map[string]string, error) {
	gone := map[string]string{}
	for key, rec := range records {
		if len(rec.Images) == 0 {
			gone[key] = "record holds no image"
		}
	}
	if images == nil || len(records) == 0 {
		return gone, nil
	}
	var ask []bake.ImageRef
	for key, rec := range records {
		for region, id := range rec.Images {
			ask = append(ask, bake.ImageRef{Key: key, Region: region, ID: id})
		}
	}
	found, err := images.Exist(ctx, ask)
	if err != nil {
		return nil, fmt.Errorf("checking cached images: %w", err)
	}
	for key, rec := range records {
		for _, region := range slices.Sorted(maps.Keys(rec.Images)) {
			if id := rec.Images[region]; !found[bake.ImageRef{Key: key, Region: region, ID: id}] {
				gone[key] = fmt.Sprintf("%s in %s is gone, or is not an image of this key", id, region)
				break
			}
		}
	}
	return gone, nil
}

// findImages asks the platform for the keys no cache holds (or whose
// cached images are gone), in every region the images want.
func findImages(ctx context.Context, a *Analysis, records map[string]*cache.Record, gone map[string]string, images Images) (map[string]map[string]string, error) {
	if images == nil {
		return nil, nil
	}
	var missing []string
	regions := map[string]bool{}
	for _, l := range a.Closure {
		k := a.Keys[l].Hex
		if records[k] == nil || gone[k] != "" {
			missing = append(missing, k)
			for _, r := range a.Graph.Images[l].Regions {
				regions[r] = true
			}
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	found, err := images.Find(ctx, slices.Sorted(maps.Keys(regions)), missing)
	if err != nil {
		return nil, fmt.Errorf("looking for images by their imgraph:key tag: %w", err)
	}
	return found, nil
}

// foundRecord is the record of an image found by its tag, before the
// build writes it. What the image was given (its tags, who it is shared
// with) is not known: it may have been baked when the image declared
// another distribution, which is not part of its key. So none is
// recorded, and the build gives it its distribution again.
func foundRecord(t *Target, images map[string]string) *cache.Record {
	inputs, _ := json.Marshal(t.Key.Parts)
	return &cache.Record{Key: t.Key.Hex, Label: t.Image.Label.String(), Images: maps.Clone(images), Inputs: inputs}
}

// setDistribution records d as what the image was given.
func setDistribution(rec *cache.Record, d bake.Distribution) {
	rec.Tags, rec.ShareWith, rec.PublishSSM = d.Tags, d.ShareWith, d.PublishSSM
	rec.LaunchTemplates, rec.DeprecateAfter = d.LaunchTemplates, ""
	if d.DeprecateAfter != 0 {
		rec.DeprecateAfter = d.DeprecateAfter.String()
	}
}

// recordedDistribution is what the record says the image was given.
// A deprecate_after the record cannot say is taken as none, so the image
// is given its distribution again.
func recordedDistribution(rec *cache.Record) bake.Distribution {
	d := bake.Distribution{Tags: rec.Tags, ShareWith: rec.ShareWith, PublishSSM: rec.PublishSSM, LaunchTemplates: rec.LaunchTemplates}
	d.DeprecateAfter, _ = time.ParseDuration(rec.DeprecateAfter)
	return d
}

// distribution compares what of its distribution an image wants the
// platform to apply with what its bake was given.
func distribution(platform bake.Platform, t *Target, rec *cache.Record) (Action, []string) {
	im := t.Image
	want := platform.Distribution(bake.Want(im))
	have := platform.Distribution(recordedDistribution(rec))
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
	if t.Found {
		// What it was given is not known (see foundRecord).
		if !want.IsZero() {
			if action == ActionCached {
				action = ActionRetag
				if len(want.ShareWith) > 0 {
					action = ActionShare
				}
			}
			reasons = append(reasons, "what it was given when baked is not known; given again")
		}
		return action, reasons
	}
	if !want.ShareEqual(have) {
		if action == ActionCached {
			action = ActionShare
		}
		reasons = append(reasons, "share_with changed")
	}
	retag := func(reason string) {
		if action == ActionCached {
			action = ActionRetag
		}
		reasons = append(reasons, reason)
	}
	switch {
	case want.PublishSSM != have.PublishSSM:
		retag("publish_ssm changed")
	case !want.TagsEqual(have):
		retag("tags or description changed")
	}
	if !want.LaunchTemplatesEqual(have) {
		retag("launch_templates changed")
	}
	if want.DeprecateAfter != have.DeprecateAfter {
		retag("deprecate_after changed")
	}
	if rec.Unpublished && action == ActionCached {
		action = ActionRetag
		reasons = append(reasons, "recorded since its distribution was last applied; given it again")
	}
	if action == ActionCached {
		reasons = []string{"baked as " + ShortID(rec.Images[im.Regions[0]])}
	}
	return action, reasons
}

// republishIfSuperseded publishes again a cached image whose label was
// last recorded with another key (the label went back to an older key),
// when what it is published with follows the label's current image: its
// SSM parameter, launch templates, and the deprecation of superseded
// images. It costs a read of the label's latest record, so images with
// none of them skip it.
func republishIfSuperseded(ctx context.Context, store Records, platform bake.Platform, t *Target) error {
	want := platform.Distribution(bake.Want(t.Image))
	if t.Action != ActionCached || len(want.LaunchTemplates) == 0 && want.DeprecateAfter == 0 && want.PublishSSM == "" {
		return nil
	}
	latest, err := store.Latest(ctx, t.Image.Label.String())
	if err != nil {
		return fmt.Errorf("reading the cache: %w", err)
	}
	if latest != nil && latest.Key != t.Key.Hex {
		t.Action = ActionRetag
		t.Reasons = []string{fmt.Sprintf("the label was last built as key %s; published again", bake.ShortKey(latest.Key))}
	}
	return nil
}

// retest makes a baked image's action test when it has not passed the
// tests it has now; what its distribution needs is done once they pass.
func retest(t *Target) {
	if t.Key.Tests == "" || t.Record.Tested == t.Key.Tests {
		return
	}
	why := "tests changed since it last passed them; re-tested, not rebaked"
	switch {
	case t.Found:
		why = "tests not known to have run on it; re-tested, not rebaked"
	case t.Record.Tested == "":
		why = "tests never ran on it; re-tested, not rebaked"
	}
	if t.Action == ActionCached {
		t.Reasons = nil // "baked as ...": it still is, but that is not what happens
	}
	t.Action = ActionTest
	t.Reasons = append([]string{why}, t.Reasons...)
}

// ForTests turns a plan into what `imgraph test` does: the images of
// targets that have tests are tested again, whatever they last passed;
// images that are not baked are skipped (their tests cannot run) and the
// rest are left as they are. Nothing is baked or distributed.
func (p *Plan) ForTests(targets []label.Label) {
	want := make(map[label.Label]bool, len(targets))
	for _, l := range targets {
		want[l] = true
	}
	for _, t := range p.Targets {
		switch {
		case t.Action == ActionBake:
			t.Action, t.Reasons = ActionSkipped, []string{"not baked: imgraph build bakes and tests it"}
		case !want[t.Image.Label]:
			t.Action, t.Reasons = ActionCached, []string{"not tested: an ancestor of the images asked for"}
		case len(t.Image.Tests) == 0:
			t.Action, t.Reasons = ActionCached, []string{"not tested: it has no tests"}
		default:
			t.Action, t.Reasons = ActionTest, []string{"tested again, as asked"}
		}
	}
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
	since, err := SinceLastBake(ctx, store, im.Label, t.Key)
	if err != nil {
		return nil, err
	}
	if since.Last == nil {
		return []string{"never baked"}, nil
	}
	var reasons []string
	for _, c := range since.Changes {
		reasons = append(reasons, c.String())
	}
	if len(reasons) == 0 {
		reasons = []string{"inputs changed since the last bake"}
	}
	return reasons, nil
}

// ShortID shortens the image ids that are keys (a local image's) for
// people; cloud image ids are short already.
func ShortID(id string) string {
	if len(id) == 64 {
		return bake.ShortKey(id)
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

// Counts tallies the plan's actions.
func (p *Plan) Counts() map[Action]int {
	c := map[Action]int{}
	for _, t := range p.Targets {
		c[t.Action]++
	}
	return c
}
