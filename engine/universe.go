package engine

import (
	"maps"
	"slices"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/query"
)

// QueryNodes turns the loaded images into the query language's universe:
// every image, and every file an image sends as a node of its own, so
// rdeps(//..., //base:harden.sh) finds the images that use a script.
func (a *Analysis) QueryNodes() []query.Node {
	files := map[label.Label]bool{}
	var nodes []query.Node
	for _, l := range a.Graph.Order {
		im := a.Graph.Images[l]
		var deps []label.Label
		if !im.Parent.IsZero() {
			deps = append(deps, im.Parent)
		}
		for _, f := range im.Files() {
			if !slices.Contains(deps, f.Label) {
				deps = append(deps, f.Label)
			}
			files[f.Label] = true
		}
		nodes = append(nodes, query.Node{Label: l, Kind: query.KindImage, Deps: deps, Attrs: im.Attrs()})
	}
	for _, f := range slices.SortedFunc(maps.Keys(files), func(a, b label.Label) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	}) {
		nodes = append(nodes, query.Node{Label: f, Kind: query.KindFile, Attrs: map[string]string{"name": f.Name}})
	}
	return nodes
}
