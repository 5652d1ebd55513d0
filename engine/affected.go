package engine

import (
	"fmt"

	"github.com/imgraph/imgraph/label"
)

// Affected is an image whose key differs between two analyses of a
// workspace (two revisions of it, say), and why.
type Affected struct {
	Label   label.Label
	Key     Key    // its key now
	Was     string // its key before; "" for an image that was not there
	Reasons []string
}

// AffectedSince lists, in graph order, the images now selects whose key
// differs from before's: the images a change needs baked (and tested)
// again. An image whose parent changes says so first, then what else of
// its own changed.
func AffectedSince(before, now *Analysis) []Affected {
	var out []Affected
	selected := make(map[label.Label]bool, len(now.Targets))
	for _, t := range now.Targets {
		selected[t] = true
	}
	changed := map[label.Label]bool{}
	for _, l := range now.Closure {
		k := now.Keys[l]
		old, existed := before.Keys[l]
		if existed && old.Hex == k.Hex {
			continue
		}
		changed[l] = true
		if !selected[l] {
			continue
		}
		a := Affected{Label: l, Key: k}
		if !existed {
			a.Reasons = []string{"new"}
			out = append(out, a)
			continue
		}
		a.Was = old.Hex
		parent := now.Graph.Images[l].Parent
		parentChanged := !parent.IsZero() && changed[parent]
		if parentChanged {
			a.Reasons = append(a.Reasons, fmt.Sprintf("parent %s changes", parent))
		}
		for _, c := range Diff(old.Parts, k.Parts) {
			if parentChanged && c.Path == "parent" {
				continue
			}
			a.Reasons = append(a.Reasons, c.String())
		}
		out = append(out, a)
	}
	return out
}
