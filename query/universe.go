// Package query is the query language of `imgraph query EXPR`, with Bazel
// query's meaning: target patterns, deps, rdeps, allpaths, somepath, kind,
// attr, filter, set, let and the set operators + - ^. It sees the build graph
// only as Nodes, so it depends on neither rules nor engine.
package query

import (
	"slices"
	"strings"

	"github.com/imgraph/imgraph/label"
)

// Kinds of node as kind() sees them, in Bazel's words.
const (
	KindImage = "image rule"
	KindFile  = "source file"
)

// Node is one target of the universe as the query language sees it.
type Node struct {
	Label label.Label
	Kind  string            // KindImage for images, KindFile for files
	Deps  []label.Label     // direct dependencies: an image's parent image and every file it uses
	Attrs map[string]string // attribute values already rendered as strings (Bazel's format: lists as "[a, b]")
}

// isFile reports whether the node is a file rather than a rule, which
// decides whether :all selects it. Bazel's kinds of file all end in " file".
func (n *Node) isFile() bool { return strings.HasSuffix(n.Kind, " file") }

// Universe is every target loaded, indexed for evaluation. It is never
// changed after NewUniverse, so evaluations may share it. A node's index
// in nodes (sorted by label) is its identity in a nodeSet, so a set in index
// order is a set in label order.
type Universe struct {
	nodes    []Node
	index    map[label.Label]int32
	deps     [][]int32           // edges to nodes of the universe: deduplicated, ascending
	rdeps    [][]int32           // deps reversed, computed once
	pkgs     []string            // every package with a node, sorted
	pkgNodes map[string][2]int32 // a package's nodes are the index range [lo, hi)
	attrs    map[string]bool     // the names of every node's attributes
}

// NewUniverse indexes nodes. A dependency on a label that is not among the
// nodes is kept in the node (and printed) but is no edge of the graph. When
// two nodes share a label, the first one wins.
func NewUniverse(nodes []Node) *Universe {
	sorted := slices.Clone(nodes)
	slices.SortStableFunc(sorted, func(a, b Node) int { return compareLabels(a.Label, b.Label) })
	sorted = slices.CompactFunc(sorted, func(a, b Node) bool { return a.Label == b.Label })

	u := &Universe{
		nodes:    sorted,
		index:    make(map[label.Label]int32, len(sorted)),
		deps:     make([][]int32, len(sorted)),
		rdeps:    make([][]int32, len(sorted)),
		pkgNodes: map[string][2]int32{},
		attrs:    map[string]bool{},
	}
	for i := range sorted {
		n := &sorted[i]
		u.index[n.Label] = int32(i)
		for name := range n.Attrs {
			u.attrs[name] = true
		}
		r, ok := u.pkgNodes[n.Label.Pkg]
		if !ok {
			u.pkgs = append(u.pkgs, n.Label.Pkg)
			r[0] = int32(i)
		}
		r[1] = int32(i) + 1
		u.pkgNodes[n.Label.Pkg] = r
	}
	for i := range sorted {
		var out []int32
		for _, d := range sorted[i].Deps {
			if j, ok := u.index[d]; ok {
				out = append(out, j)
			}
		}
		slices.Sort(out)
		u.deps[i] = slices.Compact(out)
		for _, j := range u.deps[i] {
			// i ascends, so every rdeps list comes out ascending too.
			u.rdeps[j] = append(u.rdeps[j], int32(i))
		}
	}
	return u
}

// Len is the number of targets in the universe.
func (u *Universe) Len() int { return len(u.nodes) }

// Lookup returns the node labelled l.
func (u *Universe) Lookup(l label.Label) (*Node, bool) {
	i, ok := u.index[l]
	if !ok {
		return nil, false
	}
	return &u.nodes[i], true
}

// empty returns a set with nothing in it, sized for the universe.
func (u *Universe) empty() nodeSet { return newNodeSet(len(u.nodes)) }

// nodesOf lists the members of s in label order.
func (u *Universe) nodesOf(s nodeSet) []*Node {
	out := make([]*Node, 0, s.len())
	for i := range s.members() {
		out = append(out, &u.nodes[i])
	}
	return out
}

// packagesBeneath lists the packages at or below pkg ("" is the root).
func (u *Universe) packagesBeneath(pkg string) []string {
	if pkg == "" {
		return u.pkgs
	}
	// Packages beneath pkg share its prefix, so they sit in one sorted run,
	// interleaved with siblings such as pkg-x that MatchesPackage drops.
	start, _ := slices.BinarySearch(u.pkgs, pkg)
	var out []string
	for _, p := range u.pkgs[start:] {
		if !strings.HasPrefix(p, pkg) {
			break
		}
		if p == pkg || strings.HasPrefix(p, pkg+"/") {
			out = append(out, p)
		}
	}
	return out
}

func compareLabels(a, b label.Label) int {
	if c := strings.Compare(a.Pkg, b.Pkg); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}
