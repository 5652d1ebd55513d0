// Package engine turns loaded images into a graph, keys every image by the
// content of its inputs, keeps the lock file, and plans and runs builds.
package engine

import (
	"strings"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// Graph is the images of a build and the parent edges between them. Every
// image has at most one parent, so the graph is a forest.
type Graph struct {
	Images   map[label.Label]*rules.Image
	Order    []label.Label                 // parents before children; siblings by label
	Children map[label.Label][]label.Label // sorted
}

// CycleError is a chain of parents that comes back to where it started.
type CycleError struct {
	Cycle []label.Label // first == last
	Pos   rules.Pos
	Line  string
}

func (e *CycleError) Error() string {
	names := make([]string, len(e.Cycle))
	for i, l := range e.Cycle {
		names[i] = l.String()
	}
	re := &rules.Error{Pos: e.Pos, Line: e.Line, Msg: "cycle in the image graph: " + strings.Join(names, " -> "),
		Hint: "an image cannot be its own ancestor; give one of them another parent or a source"}
	return re.Error()
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *CycleError) BadInput() bool { return true }

// NewGraph orders images parents first and rejects cycles. Every parent
// must be among images (the loader guarantees it).
func NewGraph(images map[label.Label]*rules.Image) (*Graph, error) {
	g := &Graph{Images: images, Children: map[label.Label][]label.Label{}}
	labels := rules.SortedLabels(images)
	for _, l := range labels {
		if p := images[l].Parent; !p.IsZero() {
			g.Children[p] = append(g.Children[p], l)
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := make(map[label.Label]int, len(images))
	for _, start := range labels {
		// Walk up the parent chain; every image has one parent, so the
		// chain is a path and a cycle is a return to a label on it.
		var path []label.Label
		l := start
		for state[l] == unseen {
			state[l] = onPath
			path = append(path, l)
			p := images[l].Parent
			if p.IsZero() || images[p] == nil {
				break
			}
			l = p
		}
		if state[l] == onPath && len(path) > 0 && images[path[len(path)-1]].Parent == l {
			return nil, cycleError(images, path, l)
		}
		for _, x := range path {
			state[x] = done
		}
	}
	// Roots first, then breadth by breadth: a parent always precedes its
	// children, and the order does not depend on map iteration.
	var queue []label.Label
	for _, l := range labels {
		if p := images[l].Parent; p.IsZero() || images[p] == nil {
			queue = append(queue, l)
		}
	}
	for len(queue) > 0 {
		l := queue[0]
		queue = queue[1:]
		g.Order = append(g.Order, l)
		queue = append(queue, g.Children[l]...)
	}
	return g, nil
}

// cycleError prints the cycle starting at its smallest label, so the same
// cycle always reads the same.
func cycleError(images map[label.Label]*rules.Image, path []label.Label, back label.Label) error {
	i := 0
	for path[i] != back {
		i++
	}
	cyc := path[i:]
	min := 0
	for j := range cyc {
		if cyc[j].Less(cyc[min]) {
			min = j
		}
	}
	// The cycle follows parent edges: child -> parent.
	ordered := append(append([]label.Label{}, cyc[min:]...), cyc[:min]...)
	ordered = append(ordered, ordered[0])
	im := images[ordered[0]]
	return &CycleError{Cycle: ordered, Pos: im.Pos}
}

// Ancestors lists l's parent chain, nearest first.
func (g *Graph) Ancestors(l label.Label) []label.Label {
	var out []label.Label
	for p := g.Images[l].Parent; !p.IsZero(); p = g.Images[p].Parent {
		out = append(out, p)
	}
	return out
}

// Select returns the images the patterns name, in graph order. Positive
// patterns add, negative ones subtract, left to right as in Bazel.
func Select(g *Graph, patterns []label.Pattern) []label.Label {
	chosen := map[label.Label]bool{}
	for _, p := range patterns {
		for l := range g.Images {
			if p.Matches(l, false) {
				chosen[l] = !p.Negative
			}
		}
	}
	var out []label.Label
	for _, l := range g.Order {
		if chosen[l] {
			out = append(out, l)
		}
	}
	return out
}

// Closure returns targets and all their ancestors, in graph order.
func (g *Graph) Closure(targets []label.Label) []label.Label {
	in := map[label.Label]bool{}
	for _, t := range targets {
		for l := t; !l.IsZero() && !in[l]; l = g.Images[l].Parent {
			in[l] = true
		}
	}
	out := make([]label.Label, 0, len(in))
	for _, l := range g.Order {
		if in[l] {
			out = append(out, l)
		}
	}
	return out
}
