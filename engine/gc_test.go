package engine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
)

var gcNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// versionOf is a version of //base:base (key k) baked daysAgo, in both
// regions.
func versionOf(k string, daysAgo int) []bake.BakedImage {
	at := gcNow.Add(-time.Duration(daysAgo) * 24 * time.Hour)
	return []bake.BakedImage{
		{Label: "//base:base", Key: k, Region: "us-east-1", ID: "ami-" + k + "1", Created: at, Bytes: 8},
		{Label: "//base:base", Key: k, Region: "eu-west-1", ID: "ami-" + k + "2", Created: at.Add(time.Minute), Bytes: 8},
	}
}

// history is five versions of //base:base, k5 the current one, k1 the
// oldest.
func history() []bake.BakedImage {
	var images []bake.BakedImage
	for i, k := range []string{"k1", "k2", "k3", "k4", "k5"} {
		images = append(images, versionOf(k, 50-10*i)...)
	}
	return images
}

func decided(vs []*GCVersion) (gone, kept []string) {
	for _, v := range vs {
		if v.Remove {
			gone = append(gone, v.Key)
		} else {
			kept = append(kept, v.Key)
		}
	}
	slices.Sort(gone)
	return gone, kept
}

func TestDecideGC(t *testing.T) {
	base := GCGuards{Current: map[string]string{"//base:base": "k5", "//app:app": "a1"}}
	tests := []struct {
		name      string
		images    []bake.BakedImage
		opt       GCOptions
		guards    func(g *GCGuards)
		gone      string
		wantWhy   map[string]string // key -> a reason it has
		wantCount int
	}{
		{name: "keep 1", opt: GCOptions{Keep: 1}, gone: "k1 k2 k3", wantWhy: map[string]string{
			"k5": "the current key of //base:base", "k4": "one of the 1 newest superseded versions", "k1": "superseded (the current key of //base:base is k5)"}},
		{name: "keep 0", opt: GCOptions{Keep: 0}, gone: "k1 k2 k3 k4"},
		{name: "keep 3", opt: GCOptions{Keep: 3}, gone: "k1"},
		{name: "keep more than there are", opt: GCOptions{Keep: 10}, gone: ""},
		{name: "older than", opt: GCOptions{Keep: 0, OlderThan: 25 * 24 * time.Hour}, gone: "k1 k2 k3",
			wantWhy: map[string]string{"k4": "baked 480h0m0s ago, within --older-than 600h0m0s"}},
		{name: "locked, manifest, published", opt: GCOptions{}, guards: func(g *GCGuards) {
			g.Named = map[string]string{"ami-k11": "IMAGES.lock", "ami-k22": "SSM parameter /base in eu-west-1"}
		}, gone: "k3 k4", wantWhy: map[string]string{
			"k1": "ami-k11 in us-east-1 is named in IMAGES.lock", "k2": "ami-k22 in eu-west-1 is named in SSM parameter /base"}},
		{name: "held and live runs", opt: GCOptions{}, images: func() []bake.BakedImage {
			images := history()
			images[2].Run = "run-live" // k2 in us-east-1
			images[4].Run = "run-dead"
			return images
		}(), guards: func(g *GCGuards) {
			g.Held = map[string]bool{"k1": true}
			g.LiveRuns = map[string]bool{"run-live": true}
		}, gone: "k3 k4", wantWhy: map[string]string{"k1": "another build holds the key's lease", "k2": "its run run-live is alive"}},
		{name: "shared", opt: GCOptions{}, images: func() []bake.BakedImage {
			images := history()
			images[1].Shared = true // k1 in eu-west-1
			return images
		}(), gone: "k2 k3 k4", wantWhy: map[string]string{"k1": "ami-k12 in eu-west-1 is shared with other accounts"}},
		{name: "shared, included", opt: GCOptions{IncludeShared: true}, images: func() []bake.BakedImage {
			images := history()
			images[1].Shared = true
			return images
		}(), gone: "k1 k2 k3 k4"},
		{name: "temporary copy keeps its version and is not counted", opt: GCOptions{Keep: 1}, images: func() []bake.BakedImage {
			images := history()
			images[7].Temporary = true // k4 in eu-west-1, a copy in progress
			return images
		}(), gone: "k1 k2", wantWhy: map[string]string{"k4": "still temporary", "k3": "one of the 1 newest superseded"}},
		{name: "a label the workspace lacks", opt: GCOptions{}, images: append(history(),
			bake.BakedImage{Label: "//gone:gone", Key: "g1", Region: "us-east-1", ID: "ami-g", Created: gcNow.Add(-100 * 24 * time.Hour)}),
			gone: "k1 k2 k3 k4", wantWhy: map[string]string{"g1": "//gone:gone is not an image of this workspace"}},
		{name: "a key current for another label", opt: GCOptions{}, guards: func(g *GCGuards) {
			g.Current = map[string]string{"//base:base": "k5", "//base:copy": "k2"}
		}, gone: "k1 k3 k4", wantWhy: map[string]string{"k2": "the current key of //base:copy"}},
		{name: "unknown creation time", opt: GCOptions{}, images: func() []bake.BakedImage {
			images := history()
			images[0].Created, images[1].Created = time.Time{}, time.Time{}
			return images
		}(), gone: "k2 k3 k4", wantWhy: map[string]string{"k1": "when it was baked is not known"}},
		{name: "not selected, not answered", opt: GCOptions{Selected: func(l string) bool { return l == "//app:app" }}, gone: "", wantCount: -1},
		{name: "no label", images: []bake.BakedImage{{Key: "x", Region: "us-east-1", ID: "ami-x"}}, gone: "", wantCount: -1},
		{name: "what a kept image lies on stays, down the chain", opt: GCOptions{Selected: func(l string) bool { return l == "//base:base" }},
			images: func() []bake.BakedImage {
				images := history()
				images[2].LiesOn = "ami-k11" // k2 lies on k1
				// An image gc does not look at lies on k2.
				return append(images, bake.BakedImage{Label: "//app:app", Key: "a0", Region: "us-east-1", ID: "ami-a0", LiesOn: "ami-k21"})
			}(), gone: "k3 k4", wantWhy: map[string]string{
				"k2": "//app:app (a0) lies on its storage, and stays", "k1": "//base:base (k2) lies on its storage, and stays"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := tt.images
			if images == nil {
				images = history()
			}
			g := base
			if tt.guards != nil {
				tt.guards(&g)
			}
			opt := tt.opt
			opt.Now = gcNow
			vs := DecideGC(images, opt, g)
			gone, _ := decided(vs)
			if got := strings.Join(gone, " "); got != tt.gone {
				t.Errorf("gone = %q, want %q", got, tt.gone)
			}
			if tt.wantCount == -1 && len(vs) != 0 {
				t.Errorf("answered %d versions, want none", len(vs))
			}
			for _, v := range vs {
				if len(v.Reasons) == 0 {
					t.Errorf("%s has no reason", v.Key)
				}
				if v.Remove && len(v.Reasons) != 1 {
					t.Errorf("%s goes with reasons %q", v.Key, v.Reasons)
				}
				if want, ok := tt.wantWhy[v.Key]; ok && !strings.Contains(strings.Join(v.Reasons, "\n"), want) {
					t.Errorf("%s: reasons %q, want one with %q", v.Key, v.Reasons, want)
				}
			}
		})
	}
}

// TestDecideGCWholeVersions: a version goes or stays in every region at
// once, newest first in the answer, with its oldest image's time.
func TestDecideGCWholeVersions(t *testing.T) {
	vs := DecideGC(history(), GCOptions{Now: gcNow}, GCGuards{
		Current: map[string]string{"//base:base": "k5"},
		Named:   map[string]string{"ami-k32": "imgraph-out/manifest.json"},
	})
	if len(vs) != 5 {
		t.Fatalf("%d versions, want 5", len(vs))
	}
	for i, want := range []string{"k5", "k4", "k3", "k2", "k1"} {
		v := vs[i]
		if v.Key != want || len(v.Images) != 2 || v.Images[0].Region != "eu-west-1" {
			t.Errorf("version %d = %s with %d images, want %s in both regions", i, v.Key, len(v.Images), want)
		}
		if !v.Created.Equal(v.Images[1].Created) {
			t.Errorf("%s: created %v, want its first image's %v", v.Key, v.Created, v.Images[1].Created)
		}
	}
	if vs[2].Remove {
		t.Errorf("k3 goes though its copy in eu-west-1 is in the manifest")
	}
	if got := vs[3].Bytes(); got != 16 {
		t.Errorf("k2 takes %d bytes, want 16", got)
	}
}

// TestDecideGCAgain: what one gc leaves, the next leaves too.
func TestDecideGCAgain(t *testing.T) {
	opt := GCOptions{Keep: 1, Now: gcNow}
	g := GCGuards{Current: map[string]string{"//base:base": "k5"}}
	var left []bake.BakedImage
	for _, v := range DecideGC(history(), opt, g) {
		if !v.Remove {
			left = append(left, v.Images...)
		}
	}
	if gone, _ := decided(DecideGC(left, opt, g)); len(gone) > 0 {
		t.Errorf("a second gc removes %v", gone)
	}
}
