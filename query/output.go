package query

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Formats lists the output formats Write knows, for flag help and completion.
func Formats() []string { return []string{"label", "label_kind", "graph", "json"} }

// Write prints nodes, drawn from u, in format:
//
//	label       one canonical label (//pkg:name) a line, sorted
//	label_kind  the kind before each label: "image rule //apps/api:api"
//	graph       GraphViz DOT of the nodes and the edges among them
//	json        an array of {"label", "kind", "deps", "attrs"}; deps are every direct dependency
//
// An unknown format is a *Error.
func Write(w io.Writer, format string, u *Universe, nodes []*Node) error {
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b *Node) int { return compareLabels(a.Label, b.Label) })
	sorted = slices.CompactFunc(sorted, func(a, b *Node) bool { return a.Label == b.Label })

	bw := bufio.NewWriter(w)
	switch format {
	case "label":
		for _, n := range sorted {
			fmt.Fprintln(bw, n.Label)
		}
	case "label_kind":
		for _, n := range sorted {
			fmt.Fprintln(bw, n.Kind, n.Label)
		}
	case "graph":
		writeGraph(bw, u, sorted)
	case "json":
		if err := writeJSON(bw, sorted); err != nil {
			return err
		}
	default:
		return errorf(-1, "unknown output format %q; want one of %s", format, strings.Join(Formats(), ", "))
	}
	return bw.Flush()
}

// writeGraph prints DOT in Bazel's shape: every node, then the edges between
// nodes of the result, both in label order so the text is stable. Edges
// come from u, where they are already deduplicated and sorted.
func writeGraph(w io.Writer, u *Universe, nodes []*Node) {
	if u == nil {
		u = NewUniverse(nil)
	}
	in := u.empty()
	for _, n := range nodes {
		if i, ok := u.index[n.Label]; ok {
			in.add(i)
		}
	}
	fmt.Fprintln(w, "digraph imgraph {")
	fmt.Fprintln(w, "  node [shape=box];")
	for _, n := range nodes {
		fmt.Fprintf(w, "  %s\n", dotQuote(n.Label.String()))
	}
	for _, n := range nodes {
		i, ok := u.index[n.Label]
		if !ok {
			continue // not of this universe: no edges known
		}
		for _, j := range u.deps[i] {
			if in.has(j) {
				fmt.Fprintf(w, "  %s -> %s\n", dotQuote(n.Label.String()), dotQuote(u.nodes[j].Label.String()))
			}
		}
	}
	fmt.Fprintln(w, "}")
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

type jsonNode struct {
	Label string            `json:"label"`
	Kind  string            `json:"kind"`
	Deps  []string          `json:"deps"`
	Attrs map[string]string `json:"attrs"`
}

func writeJSON(w io.Writer, nodes []*Node) error {
	out := make([]jsonNode, len(nodes))
	for i, n := range nodes {
		deps := make([]string, len(n.Deps))
		for j, d := range n.Deps {
			deps[j] = d.String()
		}
		attrs := n.Attrs
		if attrs == nil {
			attrs = map[string]string{} // {} rather than null: easier for jq
		}
		out[i] = jsonNode{Label: n.Label.String(), Kind: n.Kind, Deps: deps, Attrs: attrs}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a description's "&" stays readable
	return enc.Encode(out)
}
