package engine

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/imgraph/imgraph/bake"
)

// GCOptions are the policy of `imgraph gc`: which labels it looks at, and
// how many superseded versions, and how young, it keeps.
type GCOptions struct {
	// Keep is how many superseded versions of each label stay, the newest
	// first, for rolling back; the current version is kept besides.
	Keep int
	// OlderThan keeps every version baked less than this long before Now.
	OlderThan time.Duration
	// IncludeShared lets images shared with other accounts go too.
	IncludeShared bool
	Now           time.Time
	// Selected says whether gc looks at a label's images (the patterns);
	// nil looks at every label.
	Selected func(label string) bool
}

// GCGuards are what protects an image whatever the policy says.
type GCGuards struct {
	// Current is the key of every image of the workspace, by label, as the
	// workspace is now (whatever the patterns select): an image of any of
	// these keys is current, and a label absent here is not the
	// workspace's, so its images are left alone.
	Current map[string]string
	// Named are image ids something may still launch from, each with
	// where it is named ("IMAGES.lock", "imgraph-out/manifest.json", an
	// SSM parameter).
	Named map[string]string
	// Held are the keys another build holds the lease of.
	Held map[string]bool
	// LiveRuns are the runs alive (on this machine, or beating).
	LiveRuns map[string]bool
}

// GCVersion is one baked version of a label (its images of one key, in
// every region) and what gc does with it: it goes whole, or stays whole.
type GCVersion struct {
	Label   string
	Key     string
	Created time.Time // when it was baked: the oldest of its images
	Images  []bake.BakedImage
	Remove  bool
	// Reasons say why it goes (one), or every reason it stays.
	Reasons []string
}

// Bytes is the storage its images take, as far as the platform knows.
func (v *GCVersion) Bytes() int64 {
	var n int64
	for _, img := range v.Images {
		n += img.Bytes
	}
	return n
}

// DecideGC decides, of the images a platform baked, which go and which
// stay, each version with its reasons. An image is decided with every
// copy of its key: one copy that must stay keeps them all, so a version
// never goes in one region and stays in another. In doubt it keeps: an
// image of a label the workspace does not have, with no label, still
// temporary, current, held, of a live run, named, shared, among the Keep
// newest superseded or younger than OlderThan stays. Images of labels not
// selected are left out of the answer. The answer is sorted by label,
// then newest first.
func DecideGC(images []bake.BakedImage, opt GCOptions, g GCGuards) []*GCVersion {
	type id struct{ label, key string }
	byVersion := map[id]*GCVersion{}
	for _, img := range images {
		if img.Label == "" || opt.Selected != nil && !opt.Selected(img.Label) {
			continue
		}
		v := byVersion[id{img.Label, img.Key}]
		if v == nil {
			v = &GCVersion{Label: img.Label, Key: img.Key}
			byVersion[id{img.Label, img.Key}] = v
		}
		v.Images = append(v.Images, img)
	}
	currentOf := map[string][]string{} // key -> the labels it is current for
	for l, k := range g.Current {
		currentOf[k] = append(currentOf[k], l)
	}
	byLabel := map[string][]*GCVersion{}
	for _, v := range byVersion {
		sort.Slice(v.Images, func(i, j int) bool {
			return v.Images[i].Region < v.Images[j].Region || v.Images[i].Region == v.Images[j].Region && v.Images[i].ID < v.Images[j].ID
		})
		for _, img := range v.Images {
			if !img.Temporary && !img.Created.IsZero() && (v.Created.IsZero() || img.Created.Before(v.Created)) {
				v.Created = img.Created
			}
		}
		byLabel[v.Label] = append(byLabel[v.Label], v)
	}
	var out []*GCVersion
	for _, label := range slices.Sorted(maps.Keys(byLabel)) {
		versions := byLabel[label]
		sort.Slice(versions, func(i, j int) bool {
			a, b := versions[i], versions[j]
			if !a.Created.Equal(b.Created) {
				return a.Created.After(b.Created)
			}
			return a.Key < b.Key
		})
		superseded := 0 // the finished superseded versions met so far, newest first
		for _, v := range versions {
			current, known := g.Current[label]
			finished := !slices.ContainsFunc(v.Images, func(img bake.BakedImage) bool { return img.Temporary })
			isCurrent := len(currentOf[v.Key]) > 0
			var rank int
			if finished && !isCurrent {
				rank = superseded
				superseded++
			}
			v.Reasons = keepReasons(v, opt, g, currentOf[v.Key], known, finished, rank)
			if len(v.Reasons) == 0 {
				v.Remove = true
				v.Reasons = []string{goReason(v, opt, current)}
			}
			out = append(out, v)
		}
	}
	keepWhatOthersLieOn(images, out)
	return out
}

// keepWhatOthersLieOn keeps every version whose image another image that
// stays (any image not going, selected or not) lies on, and so on down
// the chain: its storage is the other image's too.
func keepWhatOthersLieOn(images []bake.BakedImage, versions []*GCVersion) {
	going := map[string]*GCVersion{} // image id -> its version, if it goes
	for _, v := range versions {
		if v.Remove {
			for _, img := range v.Images {
				going[img.ID] = v
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, img := range images {
			if img.LiesOn == "" || going[img.ID] != nil {
				continue
			}
			if v := going[img.LiesOn]; v != nil {
				v.Remove = false
				v.Reasons = []string{fmt.Sprintf("%s lies on its storage, and stays", describeImage(img))}
				for _, i := range v.Images {
					delete(going, i.ID)
				}
				changed = true
			}
		}
	}
}

// describeImage names an image for a reason: its label and short key.
func describeImage(img bake.BakedImage) string {
	if img.Label == "" {
		return "image " + img.ID
	}
	return fmt.Sprintf("%s (%s)", img.Label, bake.ShortKey(img.Key))
}

// keepReasons are every reason version v stays, none when it goes.
func keepReasons(v *GCVersion, opt GCOptions, g GCGuards, currentFor []string, known, finished bool, rank int) []string {
	var why []string
	if !known {
		why = append(why, fmt.Sprintf("%s is not an image of this workspace (its images are left alone)", v.Label))
	}
	if !finished {
		why = append(why, "still temporary (a bake or copy in progress, or one a killed run left: see `imgraph cleanup`)")
	}
	if len(currentFor) > 0 {
		slices.Sort(currentFor)
		why = append(why, "the current key of "+strings.Join(currentFor, ", "))
	}
	if g.Held[v.Key] {
		why = append(why, "another build holds the key's lease")
	}
	var runs []string
	for _, img := range v.Images {
		if img.Run != "" && g.LiveRuns[img.Run] && !slices.Contains(runs, img.Run) {
			runs = append(runs, img.Run)
			why = append(why, fmt.Sprintf("its run %s is alive", img.Run))
		}
	}
	for _, img := range v.Images {
		if where := g.Named[img.ID]; where != "" {
			why = append(why, fmt.Sprintf("%s in %s is named in %s", ShortID(img.ID), img.Region, where))
		}
	}
	if !opt.IncludeShared {
		for _, img := range v.Images {
			if img.Shared {
				why = append(why, fmt.Sprintf("%s in %s is shared with other accounts (--include-shared lets it go)", ShortID(img.ID), img.Region))
			}
		}
	}
	if finished && len(currentFor) == 0 && rank < opt.Keep {
		why = append(why, fmt.Sprintf("one of the %d newest superseded versions of %s (--keep %d)", opt.Keep, v.Label, opt.Keep))
	}
	switch age := opt.Now.Sub(v.Created); {
	case v.Created.IsZero():
		why = append(why, "when it was baked is not known")
	case age < opt.OlderThan:
		why = append(why, fmt.Sprintf("baked %s ago, within --older-than %s", roundAge(age), opt.OlderThan))
	}
	return why
}

// goReason says why version v goes.
func goReason(v *GCVersion, opt GCOptions, current string) string {
	s := fmt.Sprintf("superseded (the current key of %s is %s)", v.Label, bake.ShortKey(current))
	if opt.Keep > 0 {
		s += fmt.Sprintf(", beyond the %d newest superseded versions", opt.Keep)
	}
	return s + fmt.Sprintf(", baked %s ago", roundAge(opt.Now.Sub(v.Created)))
}

// roundAge shortens an age for people: whole seconds, minutes past an
// hour.
func roundAge(d time.Duration) time.Duration {
	if d >= time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}
