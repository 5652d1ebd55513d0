package query

import (
	"context"
	"fmt"
	"testing"

	"github.com/imgraph/imgraph/label"
)

// chainUniverse is n images in 100-image packages, each the parent of the
// next: the deepest graph n nodes can make, where a quadratic step shows.
func chainUniverse(n int) *Universe {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{Label: genLabel(i), Kind: KindImage}
		if i > 0 {
			nodes[i].Deps = []label.Label{genLabel(i - 1)}
		}
	}
	return NewUniverse(nodes)
}

// treeUniverse is n images in a binary tree under one root, each also
// using one of 100 shared files: wide, shallow and full of diamonds.
func treeUniverse(n int) *Universe {
	var nodes []Node
	for f := range 100 {
		nodes = append(nodes, Node{Label: label.Label{Pkg: "files", Name: fmt.Sprintf("f%d.sh", f)}, Kind: KindFile})
	}
	for i := range n {
		node := Node{Label: genLabel(i), Kind: KindImage, Attrs: map[string]string{"salt": fmt.Sprint(i % 7)}}
		if i > 0 {
			node.Deps = append(node.Deps, genLabel((i-1)/2))
		}
		node.Deps = append(node.Deps, label.Label{Pkg: "files", Name: fmt.Sprintf("f%d.sh", i%100)})
		nodes = append(nodes, node)
	}
	return NewUniverse(nodes)
}

func genLabel(i int) label.Label {
	return label.Label{Pkg: fmt.Sprintf("gen/p%d", i/100), Name: fmt.Sprintf("img%d", i)}
}

func TestLargeChain(t *testing.T) {
	const n = 20000
	u := chainUniverse(n)
	first, last := genLabel(0).String(), genLabel(n-1).String()
	tests := []struct {
		expr string
		want int
	}{
		{"//...", n},
		{"deps(" + last + ")", n},
		{"deps(" + last + ", 100)", 101},
		{"rdeps(//..., " + first + ")", n},
		{"rdeps(" + last + ", " + first + ", 10)", 11},
		{"allpaths(" + last + ", " + first + ")", n},
		{"somepath(" + last + ", " + first + ")", n},
		{"let all = deps(" + last + ") in $all ^ rdeps(//..., " + first + ") - " + first, n - 1},
		{"filter('img1[0-9]*$', //gen/...)", 11111},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if got := len(evalLabels(t, u, tt.expr, "")); got != tt.want {
				t.Errorf("%d nodes, want %d", got, tt.want)
			}
		})
	}
}

func TestLargeTree(t *testing.T) {
	const n = 20000
	u := treeUniverse(n)
	tests := []struct {
		expr string
		want int
	}{
		{"//...:*", n + 100},
		{"rdeps(//..., " + genLabel(0).String() + ")", n},
		{"deps(" + genLabel(n-1).String() + ") ^ //gen/...", 15}, // the leaf and its 14 ancestors
		{"rdeps(//..., //files:f0.sh, 1)", 1 + n/100},
		{"kind(file, deps(//gen/...))", 100},
		{"attr(salt, '^0$', //gen/...)", (n + 6) / 7},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if got := len(evalLabels(t, u, tt.expr, "")); got != tt.want {
				t.Errorf("%d nodes, want %d", got, tt.want)
			}
		})
	}
}

func BenchmarkEval(b *testing.B) {
	u := treeUniverse(20000)
	for _, expr := range []string{
		"//...",
		"deps(//gen/...)",
		"rdeps(//..., //files:f0.sh)",
		"allpaths(//gen/..., //gen/p0:img0)",
		"somepath(//gen/p199:img19999, //files:f0.sh)",
		"//gen/... - //gen/p1/... ^ //gen/p2:all + //files:all-targets",
	} {
		e, err := Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				if _, err := Eval(context.Background(), u, e, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
