package engine_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// planned is a local workspace: //base:base (wanted in two regions, with
// tags, a description and a share) under //apps:api, and a second root
// //other:other.
func planned() map[string]string {
	return map[string]string{
		"IMAGES.star": localWorkspace,
		"base/IMAGES.star": `image(
    name = "base",
    source = select({"aws": ami("ami-0123456789abcdef0"), "local": rootfs(path = "rootfs")}),
    provision = [shell(script = "harden.sh")],
    regions = ["eu-west-1"],
    tags = {"Role": "base"},
    description = "Hardened base",
    share_with = ["123456789012", "210987654321"],
    launch_templates = ["web", "batch"],
    deprecate_after = "90d",
)
`,
		"base/harden.sh":     "#!/bin/sh\nharden\n",
		"base/rootfs/bin/sh": "busybox\n",
		"apps/IMAGES.star":   `image(name = "api", parent = "//base:base", provision = [shell(inline = ["echo api"])])` + "\n",
		"other/IMAGES.star":  `image(name = "other", source = rootfs(path = "rootfs"))` + "\n",
		"other/rootfs/":      "",
	}
}

func openCache(t *testing.T) *cache.Local {
	t.Helper()
	c, err := cache.OpenLocal(t.TempDir(), func(format string, args ...any) { t.Errorf("cache warning: "+format, args...) })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// record is the cache record a bake of l in every wanted region leaves.
func record(t *testing.T, a *engine.Analysis, l label.Label) *cache.Record {
	t.Helper()
	im, key := a.Graph.Images[l], a.Keys[l]
	inputs, err := json.Marshal(key.Parts)
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]string{}
	for _, r := range im.Regions {
		images[r] = "img-" + l.Name + "-" + r + "-" + key.Short()
	}
	rec := &cache.Record{
		Key: key.Hex, Label: l.String(), Platform: a.Result.Platform, Images: images,
		Tags: bake.Want(im).Tags, ShareWith: im.ShareWith, PublishSSM: im.PublishSSM, Inputs: inputs,
		LaunchTemplates: im.LaunchTemplates,
	}
	if im.DeprecateAfter != 0 {
		rec.DeprecateAfter = im.DeprecateAfter.String()
	}
	return rec
}

func put(t *testing.T, c cache.Store, rec *cache.Record) {
	t.Helper()
	if err := c.Put(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

func makePlan(t *testing.T, a *engine.Analysis, store engine.Records, images engine.Images) *engine.Plan {
	t.Helper()
	p, err := engine.MakePlan(context.Background(), a, store, images)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Targets) != len(a.Closure) {
		t.Fatalf("%d targets for %d images", len(p.Targets), len(a.Closure))
	}
	for i, tg := range p.Targets {
		if tg.Image.Label != a.Closure[i] || p.ByLabel[a.Closure[i]] != tg {
			t.Fatalf("target %d is %s, want %s in graph order", i, tg.Image.Label, a.Closure[i])
		}
	}
	return p
}

type wantTarget struct {
	action engine.Action
	reason []string // substrings of the one reason
}

func checkPlan(t *testing.T, p *engine.Plan, want map[string]wantTarget) {
	t.Helper()
	for l, w := range want {
		tg := p.ByLabel[lbl(t, l)]
		if tg == nil {
			t.Errorf("%s is not in the plan", l)
			continue
		}
		if tg.Action != w.action {
			t.Errorf("%s: %s (%q), want %s", l, tg.Action, tg.Reasons, w.action)
			continue
		}
		if len(tg.Reasons) != 1 {
			t.Errorf("%s: reasons %q, want one", l, tg.Reasons)
			continue
		}
		for _, s := range w.reason {
			if !strings.Contains(tg.Reasons[0], s) {
				t.Errorf("%s: reason %q does not say %q", l, tg.Reasons[0], s)
			}
		}
	}
}

// TestPlanLifecycle follows a workspace through first bake, cached bakes
// and a script edit.
func TestPlanLifecycle(t *testing.T) {
	root := writeWorkspace(t, planned())
	store := openCache(t)
	a := analyze(t, root, rules.Config{})

	// Nothing is baked: the roots were never baked; the child bakes
	// because its parent does.
	p := makePlan(t, a, store, nil)
	checkPlan(t, p, map[string]wantTarget{
		"//base:base":   {engine.ActionBake, []string{"never baked"}},
		"//other:other": {engine.ActionBake, []string{"never baked"}},
		"//apps:api":    {engine.ActionBake, []string{"parent //base:base rebakes"}},
	})
	if got := p.Counts(); !reflect.DeepEqual(got, map[engine.Action]int{engine.ActionBake: 3}) {
		t.Errorf("counts %v", got)
	}

	// The root is baked: it is cached, its child was never baked.
	baseRec := record(t, a, lbl(t, "//base:base"))
	put(t, store, baseRec)
	p = makePlan(t, a, store, nil)
	checkPlan(t, p, map[string]wantTarget{
		"//base:base":   {engine.ActionCached, []string{"baked as " + baseRec.Images["us-east-1"]}},
		"//apps:api":    {engine.ActionBake, []string{"never baked"}},
		"//other:other": {engine.ActionBake, []string{"never baked"}},
	})
	if rec := p.ByLabel[lbl(t, "//base:base")].Record; rec == nil || rec.Key != baseRec.Key || rec.Images["eu-west-1"] != baseRec.Images["eu-west-1"] {
		t.Errorf("the cached target's record is %+v", rec)
	}
	put(t, store, record(t, a, lbl(t, "//apps:api")))
	put(t, store, record(t, a, lbl(t, "//other:other")))
	p = makePlan(t, a, store, nil)
	if got := p.Counts(); !reflect.DeepEqual(got, map[engine.Action]int{engine.ActionCached: 3}) {
		t.Errorf("after baking everything: counts %v", got)
	}

	// The root's script changes: it rebakes naming the script, the child
	// because of it; the other root stays cached.
	writeFile(t, root, "base/harden.sh", "#!/bin/sh\nharden --more\n")
	a2 := analyze(t, root, rules.Config{})
	p = makePlan(t, a2, store, nil)
	checkPlan(t, p, map[string]wantTarget{
		"//base:base":   {engine.ActionBake, []string{"script", "//base:harden.sh", sha12("#!/bin/sh\nharden\n"), sha12("#!/bin/sh\nharden --more\n")}},
		"//apps:api":    {engine.ActionBake, []string{"parent //base:base rebakes"}},
		"//other:other": {engine.ActionCached, nil},
	})

	// Going back to the baked script finds the old bakes again.
	writeFile(t, root, "base/harden.sh", "#!/bin/sh\nharden\n")
	p = makePlan(t, analyze(t, root, rules.Config{}), store, nil)
	if got := p.Counts(); !reflect.DeepEqual(got, map[engine.Action]int{engine.ActionCached: 3}) {
		t.Errorf("after reverting the script: counts %v", got)
	}
}

// TestPlanBakeReasonAfterEdit shows that an image whose last bake had other
// inputs says which, even when its parent is cached.
func TestPlanBakeReasonAfterEdit(t *testing.T) {
	root := writeWorkspace(t, planned())
	store := openCache(t)
	a := analyze(t, root, rules.Config{})
	for _, l := range a.Closure {
		put(t, store, record(t, a, l))
	}
	writeFile(t, root, "apps/IMAGES.star", `image(name = "api", parent = "//base:base", provision = [shell(inline = ["echo api v2"])])`+"\n")
	p := makePlan(t, analyze(t, root, rules.Config{}), store, nil)
	checkPlan(t, p, map[string]wantTarget{
		"//base:base": {engine.ActionCached, nil},
		"//apps:api":  {engine.ActionBake, []string{"provision: [0] shell: inline", `"echo api"`, `"echo api v2"`}},
	})
}

// TestPlanDistribution shows the action of an image whose key is baked but
// whose bake differs from what the image now wants, on the aws platform.
func TestPlanDistribution(t *testing.T) {
	tests := []distributionCase{
		{"as wanted", func(*cache.Record) {}, engine.ActionCached, []string{"baked as img-base-us-east-1-"}},
		{"in more regions than wanted", func(r *cache.Record) { r.Images["ap-south-1"] = "img-x" }, engine.ActionCached, []string{"baked as"}},
		{"missing a region", func(r *cache.Record) { delete(r.Images, "eu-west-1") }, engine.ActionCopy, []string{"not yet in eu-west-1"}},
		{"other tags", func(r *cache.Record) { r.Tags = map[string]string{"Role": "old", "Description": "Hardened base"} }, engine.ActionRetag, []string{"tags or description changed"}},
		{"other description", func(r *cache.Record) { r.Tags = map[string]string{"Role": "base"} }, engine.ActionRetag, []string{"tags or description changed"}},
		{"other publish_ssm", func(r *cache.Record) { r.PublishSSM = "/images/base" }, engine.ActionRetag, []string{"publish_ssm changed"}},
		{"other share_with", func(r *cache.Record) { r.ShareWith = []string{"123456789012"} }, engine.ActionShare, []string{"share_with changed"}},
		{"share_with in another order", func(r *cache.Record) { r.ShareWith = []string{"210987654321", "123456789012"} }, engine.ActionCached, []string{"baked as"}},
		{"missing a region and other tags", func(r *cache.Record) { delete(r.Images, "eu-west-1"); r.Tags = nil }, engine.ActionCopy, []string{"not yet in eu-west-1", "tags or description changed"}},
		{"other tags and shares", func(r *cache.Record) { r.ShareWith = nil; r.Tags = nil }, engine.ActionShare, []string{"share_with changed", "tags or description changed"}},
		{"other launch_templates", func(r *cache.Record) { r.LaunchTemplates = []string{"web"} }, engine.ActionRetag, []string{"launch_templates changed"}},
		{"launch_templates never given", func(r *cache.Record) { r.LaunchTemplates = nil }, engine.ActionRetag, []string{"launch_templates changed"}},
		{"launch_templates in another order", func(r *cache.Record) { r.LaunchTemplates = []string{"web", "batch"} }, engine.ActionCached, []string{"baked as"}},
		{"other deprecate_after", func(r *cache.Record) { r.DeprecateAfter = "720h0m0s" }, engine.ActionRetag, []string{"deprecate_after changed"}},
		{"deprecate_after never given", func(r *cache.Record) { r.DeprecateAfter = "" }, engine.ActionRetag, []string{"deprecate_after changed"}},
		{"other shares and launch_templates", func(r *cache.Record) { r.ShareWith = nil; r.LaunchTemplates = nil }, engine.ActionShare, []string{"share_with changed", "launch_templates changed"}},
	}
	testDistribution(t, rules.PlatformAWS, tests)
}

// TestPlanDistributionLocal shows that share_with, publish_ssm,
// launch_templates and deprecate_after, which only the aws platform acts
// on, plan nothing on the local platform.
func TestPlanDistributionLocal(t *testing.T) {
	testDistribution(t, rules.PlatformLocal, []distributionCase{
		{"missing a region", func(r *cache.Record) { delete(r.Images, "eu-west-1") }, engine.ActionCopy, []string{"not yet in eu-west-1"}},
		{"other tags", func(r *cache.Record) { r.Tags = map[string]string{"Role": "old", "Description": "Hardened base"} }, engine.ActionRetag, []string{"tags or description changed"}},
		{"other publish_ssm", func(r *cache.Record) { r.PublishSSM = "/images/base" }, engine.ActionCached, []string{"baked as"}},
		{"other share_with", func(r *cache.Record) { r.ShareWith = []string{"123456789012"} }, engine.ActionCached, []string{"baked as"}},
		{"other launch_templates", func(r *cache.Record) { r.LaunchTemplates = []string{"web"} }, engine.ActionCached, []string{"baked as"}},
		{"other deprecate_after", func(r *cache.Record) { r.DeprecateAfter = "" }, engine.ActionCached, []string{"baked as"}},
		{"other tags and shares", func(r *cache.Record) { r.ShareWith = nil; r.Tags = nil }, engine.ActionRetag, []string{"tags or description changed"}},
	})
}

type distributionCase struct {
	name    string
	edit    func(rec *cache.Record)
	action  engine.Action
	reasons []string
}

func testDistribution(t *testing.T, platform string, tests []distributionCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeWorkspace(t, planned())
			store := openCache(t)
			a := analyze(t, root, rules.Config{Platform: platform}, "//base")
			rec := record(t, a, lbl(t, "//base:base"))
			tt.edit(rec)
			put(t, store, rec)
			tg := makePlan(t, a, store, nil).ByLabel[lbl(t, "//base:base")]
			if tg.Action != tt.action {
				t.Errorf("action %s (%q), want %s", tg.Action, tg.Reasons, tt.action)
			}
			if len(tg.Reasons) != len(tt.reasons) {
				t.Fatalf("reasons %q, want %d", tg.Reasons, len(tt.reasons))
			}
			for i, want := range tt.reasons {
				if !strings.Contains(tg.Reasons[i], want) {
					t.Errorf("reason %q does not say %q", tg.Reasons[i], want)
				}
			}
		})
	}
}

// fakeChecker finds every image except those listed gone.
type fakeChecker struct {
	gone  map[string]bool
	asked map[string][]string // region -> ids
}

func (c *fakeChecker) Exist(_ context.Context, images []bake.ImageRef) (map[bake.ImageRef]bool, error) {
	c.asked = map[string][]string{}
	found := map[bake.ImageRef]bool{}
	for _, ref := range images {
		c.asked[ref.Region] = append(c.asked[ref.Region], ref.ID)
		found[ref] = !c.gone[ref.ID]
	}
	return found, nil
}

// Find finds no image by its key.
func (c *fakeChecker) Find(context.Context, []string, []string) (map[string]map[string]string, error) {
	return nil, nil
}

// TestPlanValidatesHits shows that a cache hit whose image is gone bakes
// again, and that every cached image is checked.
func TestPlanValidatesHits(t *testing.T) {
	root := writeWorkspace(t, planned())
	store := openCache(t)
	a := analyze(t, root, rules.Config{})
	base := record(t, a, lbl(t, "//base:base"))
	put(t, store, base)
	put(t, store, record(t, a, lbl(t, "//apps:api")))

	checker := &fakeChecker{gone: map[string]bool{base.Images["eu-west-1"]: true}}
	p := makePlan(t, a, store, checker)
	checkPlan(t, p, map[string]wantTarget{
		"//base:base": {engine.ActionBake, []string{base.Images["eu-west-1"] + " in eu-west-1 is gone"}},
		// Its key is its parent's key, not the parent's image: a rebake of
		// the same key leaves the child's bake valid.
		"//apps:api": {engine.ActionCached, nil},
	})
	if n := len(checker.asked["us-east-1"]) + len(checker.asked["eu-west-1"]); n != 3 {
		t.Errorf("checked %v, want the three cached images", checker.asked)
	}

	checker.gone = nil
	p = makePlan(t, a, store, checker)
	checkPlan(t, p, map[string]wantTarget{
		"//base:base": {engine.ActionCached, nil},
		"//apps:api":  {engine.ActionCached, nil},
	})
}

// TestPlanRepublishesAnOlderKey shows that an image whose launch templates
// or deprecation follow the label's current image is published again when
// the label was last built as another key (it went back to an older one),
// and only then.
func TestPlanRepublishesAnOlderKey(t *testing.T) {
	root := writeWorkspace(t, planned())
	store := openCache(t)
	a := analyze(t, root, rules.Config{Platform: rules.PlatformAWS}, "//base")
	base := lbl(t, "//base:base")
	rec := record(t, a, base)
	put(t, store, rec)
	if tg := makePlan(t, a, store, nil).ByLabel[base]; tg.Action != engine.ActionCached {
		t.Fatalf("the label's latest key: %s (%q), want cached", tg.Action, tg.Reasons)
	}

	// A newer key of the label was built since.
	newer := *rec
	newer.Key = strings.Repeat("e", 64)
	put(t, store, &newer)
	tg := makePlan(t, a, store, nil).ByLabel[base]
	if tg.Action != engine.ActionRetag || len(tg.Reasons) != 1 || !strings.Contains(tg.Reasons[0], "last built as key eeeeeeee") {
		t.Errorf("an older key of the label: %s (%q), want retag", tg.Action, tg.Reasons)
	}

	// Without launch templates or deprecate_after, nothing follows the
	// label: it stays cached.
	files := planned()
	files["base/IMAGES.star"] = strings.NewReplacer("    launch_templates = [\"web\", \"batch\"],\n", "", "    deprecate_after = \"90d\",\n", "").Replace(files["base/IMAGES.star"])
	root = writeWorkspace(t, files)
	a = analyze(t, root, rules.Config{Platform: rules.PlatformAWS}, "//base")
	rec = record(t, a, base)
	put(t, store, rec)
	put(t, store, &newer)
	if tg := makePlan(t, a, store, nil).ByLabel[base]; tg.Action != engine.ActionCached {
		t.Errorf("an older key without launch templates: %s (%q), want cached", tg.Action, tg.Reasons)
	}
}
