package gen

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/imgraph/imgraph/label"
)

// workspacePlan is every choice Write makes, taken before any text is
// rendered, so rendering needs no randomness.
type workspacePlan struct {
	packages []pkgPlan
	images   []imagePlan // level by level: a parent always comes before its children
	shared   []int       // shared[k] is the package holding shared/common-k.sh
}

type pkgPlan struct {
	path   string // e.g. pkg007 or teams/t2/svc031
	team   string
	images []int // indexes into workspacePlan.images, ascending
}

type imagePlan struct {
	name   string
	pkg    int
	level  int // 1 for a root
	parent int // index of the parent image, -1 for a root
	steps  []step
	conf   bool   // copy files/<name>.conf into the image
	extra  bool   // wanted in EXTRA_REGIONS rather than REGIONS
	env    bool   // the first step carries env
	itype  string // instance_type, "" for none
	ami    string // aws roots: the source image id
}

type stepKind int

const (
	stepScript stepKind = iota // a script of the image's package
	stepInline                 // inline commands
	stepShared                 // a shared script, by label
)

type step struct {
	kind   stepKind
	shared int // stepShared: which shared script
}

var words = []string{"api", "web", "worker", "batch", "cache", "gateway", "auth", "search", "billing", "etl", "queue", "report"}

var instanceTypes = []string{"t3.micro", "t3.small", "c6i.large", "m6i.large"}

func plan(c Config) *workspacePlan {
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x696d6772617068)) // "imgraph"
	ws := &workspacePlan{}

	teams := max(1, c.Packages/25)
	for i := range c.Packages {
		p := pkgPlan{path: fmt.Sprintf("pkg%03d", i), team: "core"}
		if rng.IntN(4) == 0 {
			t := rng.IntN(teams)
			p = pkgPlan{path: fmt.Sprintf("teams/t%d/svc%03d", t, i), team: "t" + strconv.Itoa(t)}
		}
		ws.packages = append(ws.packages, p)
	}

	// Images level by level, each child taking one of its parent level's
	// FanOut slots at random, so no parent has more than FanOut children.
	var prev []int
	for level, n := range levelSizes(c.Images, c.Depth, c.FanOut) {
		var slots []int
		for _, p := range prev {
			for range min(c.FanOut, n) { // a huge FanOut needs no more than n slots each

				slots = append(slots, p)
			}
		}
		rng.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
		cur := make([]int, n)
		for k := range n {
			parent := -1
			if level > 0 {
				parent = slots[k]
			}
			cur[k] = len(ws.images)
			ws.images = append(ws.images, imagePlan{level: level + 1, parent: parent, pkg: -1})
		}
		prev = cur
	}

	// Every package gets one image first, named after the package so that
	// the short label //pkg works; the rest often follow their parent's
	// package, as an api and its api-debug would.
	for k, i := range rng.Perm(len(ws.images))[:c.Packages] {
		ws.images[i].pkg = k
		ws.images[i].name = lastComponent(ws.packages[k].path)
	}
	for i := range ws.images {
		im := &ws.images[i]
		if im.pkg >= 0 {
			continue
		}
		if im.parent >= 0 && rng.IntN(4) == 0 {
			im.pkg = ws.images[im.parent].pkg
		} else {
			im.pkg = rng.IntN(c.Packages)
		}
		im.name = words[rng.IntN(len(words))] + "-" + strconv.Itoa(i)
	}
	for i := range ws.images {
		p := &ws.packages[ws.images[i].pkg]
		p.images = append(p.images, i)
	}

	for range c.SharedFiles {
		ws.shared = append(ws.shared, rng.IntN(c.Packages))
	}

	for i := range ws.images {
		im := &ws.images[i]
		first := step{kind: stepScript}
		if rng.IntN(3) == 0 {
			first.kind = stepInline
		}
		im.steps = []step{first}
		for range rng.IntN(3) {
			s := step{kind: stepKind(rng.IntN(3))}
			if s.kind == stepShared {
				if len(ws.shared) == 0 {
					s.kind = stepScript
				} else {
					s.shared = rng.IntN(len(ws.shared))
				}
			}
			im.steps = append(im.steps, s)
		}
		im.conf = rng.IntN(3) == 0
		im.extra = rng.IntN(5) == 0
		im.env = rng.IntN(2) == 0
		if rng.IntN(4) == 0 {
			im.itype = instanceTypes[rng.IntN(len(instanceTypes))]
		}
		if im.parent < 0 && c.Platform == "aws" {
			im.ami = fmt.Sprintf("ami-0%016x", rng.Uint64())
			if c.BaseAMI != "" {
				im.ami = c.BaseAMI
			}
		}
	}
	return ws
}

// levelSizes spreads n images over depth levels so that each level has at
// most fanOut times the images of the one above and the last level is not
// empty: enough roots that full trees of that depth hold every image.
func levelSizes(n, depth, fanOut int) []int {
	capacity, width := 0, 1 // images one root's tree holds; width of its level
	for range depth {
		capacity += width
		width = min(width*fanOut, n) // n bounds it: past n it no longer matters
	}
	sizes := make([]int, depth)
	sizes[0] = min((n+capacity-1)/capacity, n-(depth-1))
	left := n - sizes[0]
	for l := 1; l < depth; l++ {
		// Keep one image for each deeper level, so the chain reaches depth.
		sizes[l] = min(sizes[l-1]*fanOut, left-(depth-1-l))
		left -= sizes[l]
	}
	// left is 0: the roots' trees hold n, and the reserve fills exactly.
	return sizes
}

func lastComponent(pkg string) string {
	for i := len(pkg) - 1; i >= 0; i-- {
		if pkg[i] == '/' {
			return pkg[i+1:]
		}
	}
	return pkg
}

func sortLabels(ls []label.Label) {
	sort.Slice(ls, func(i, j int) bool { return ls[i].Less(ls[j]) })
}
