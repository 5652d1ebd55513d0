package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

const amiSource = `source = ami("ami-0123456789abcdef0")`

// TestCycles shows that a chain of parents that returns to itself is a
// CycleError printing the whole cycle, the same way whichever image of it
// the walk meets first.
func TestCycles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
		pos   string
	}{{
		name:  "self",
		files: map[string]string{"a/IMAGES.star": `image(name = "a", parent = ":a")` + "\n"},
		want:  "//a:a -> //a:a",
		pos:   "a/IMAGES.star:1:1",
	}, {
		name: "two images across packages",
		files: map[string]string{
			"a/IMAGES.star": `image(name = "a", parent = "//b:b")` + "\n",
			"b/IMAGES.star": `image(name = "b", parent = "//a:a")` + "\n",
		},
		want: "//a:a -> //b:b -> //a:a",
		pos:  "a/IMAGES.star:1:1",
	}, {
		name: "three images across packages",
		files: map[string]string{
			"a/IMAGES.star": `image(name = "a", parent = "//b:b")` + "\n",
			"b/IMAGES.star": `image(name = "b", parent = "//c:c")` + "\n",
			"c/IMAGES.star": "# c\n" + `image(name = "c", parent = "//a:a")` + "\n",
		},
		want: "//a:a -> //b:b -> //c:c -> //a:a",
		pos:  "a/IMAGES.star:1:1",
	}, {
		name: "three images, smallest label last in parent order",
		files: map[string]string{
			"a/IMAGES.star": `image(name = "a", parent = "//c:c")` + "\n",
			"b/IMAGES.star": `image(name = "b", parent = "//a:a")` + "\n",
			"c/IMAGES.star": `image(name = "c", parent = "//b:b")` + "\n",
		},
		want: "//a:a -> //c:c -> //b:b -> //a:a",
		pos:  "a/IMAGES.star:1:1",
	}, {
		name: "cycle with a tail and a good root beside it",
		files: map[string]string{
			// //:tail sorts first, so the walk starts outside the cycle.
			"IMAGES.star":    awsWorkspace + `image(name = "tail", parent = "//b:b")` + "\n",
			"b/IMAGES.star":  `image(name = "b", parent = "//c:c")` + "\n",
			"c/IMAGES.star":  `image(name = "c", parent = "//b:b")` + "\n",
			"ok/IMAGES.star": `image(name = "ok", ` + amiSource + ")\n",
		},
		want: "//b:b -> //c:c -> //b:b",
		pos:  "b/IMAGES.star:1:1",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.files["IMAGES.star"] == "" {
				tt.files["IMAGES.star"] = awsWorkspace
			}
			root := writeWorkspace(t, tt.files)
			// Naming one image, the loader finds the rest through parents.
			one := "//a:a"
			if tt.files["b/IMAGES.star"] != "" && tt.files["a/IMAGES.star"] == "" {
				one = "//:tail"
			}
			for _, ps := range [][]string{{"//..."}, {one}} {
				_, err := tryAnalyze(t, root, rules.Config{}, engine.AnalyzeOptions{}, ps...)
				var ce *engine.CycleError
				if !errors.As(err, &ce) {
					t.Fatalf("%v: got %v (%T), want a CycleError", ps, err, err)
				}
				if !strings.Contains(ce.Error(), "cycle in the image graph: "+tt.want+"\n") {
					t.Errorf("%v: error %q does not print %q", ps, ce.Error(), tt.want)
				}
				if first, last := ce.Cycle[0], ce.Cycle[len(ce.Cycle)-1]; first != last {
					t.Errorf("cycle %v does not end where it starts", ce.Cycle)
				}
				if ce.Pos.String() != tt.pos {
					t.Errorf("cycle reported at %s, want %s", ce.Pos, tt.pos)
				}
				if !ce.BadInput() {
					t.Errorf("a cycle is not bad input")
				}
			}
		})
	}
}

// TestOrderParentsFirst shows that Order holds every image once, each after
// its parent, and is the same whatever order the images come in.
func TestOrderParentsFirst(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const n = 200
	labels := make([]label.Label, n)
	for i := range labels {
		labels[i] = label.Label{Pkg: fmt.Sprintf("p%d", rng.Intn(10)), Name: fmt.Sprintf("i%03d", i)}
	}
	parents := make([]int, n)
	for i := range parents {
		parents[i] = -1
		if i > 0 && rng.Intn(5) > 0 {
			parents[i] = rng.Intn(i) // an earlier image, so no cycles
		}
	}
	build := func(perm []int) map[label.Label]*rules.Image {
		images := map[label.Label]*rules.Image{}
		for _, i := range perm {
			im := &rules.Image{Label: labels[i]}
			if parents[i] >= 0 {
				im.Parent = labels[parents[i]]
			} else {
				im.Source = &rules.Source{Kind: rules.SourceAMI, ID: "ami-0123456789abcdef0"}
			}
			images[labels[i]] = im
		}
		return images
	}
	var first []label.Label
	for run := 0; run < 10; run++ {
		g, err := engine.NewGraph(build(rng.Perm(n)))
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Order) != n {
			t.Fatalf("Order has %d images, want %d", len(g.Order), n)
		}
		at := map[label.Label]int{}
		for i, l := range g.Order {
			if _, dup := at[l]; dup {
				t.Fatalf("%s is twice in Order", l)
			}
			at[l] = i
		}
		for i, l := range labels {
			if p := parents[i]; p >= 0 && at[labels[p]] >= at[l] {
				t.Errorf("%s comes before its parent %s", l, labels[p])
			}
		}
		for p, children := range g.Children {
			if !sort.SliceIsSorted(children, func(i, j int) bool { return children[i].Less(children[j]) }) {
				t.Errorf("children of %s are not sorted: %v", p, children)
			}
			for _, c := range children {
				if g.Images[c].Parent != p {
					t.Errorf("%s is listed as a child of %s", c, p)
				}
			}
		}
		if first == nil {
			first = g.Order
		} else if !reflect.DeepEqual(g.Order, first) {
			t.Fatalf("run %d: Order depends on the order images were given", run)
		}
	}
}

// TestOrderSmall pins the order of a small graph: roots by label, then each
// generation, siblings by label.
func TestOrderSmall(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":      awsWorkspace,
		"z/IMAGES.star":    `image(name = "root", ` + amiSource + ")\n" + `image(name = "b", parent = ":root")` + "\n" + `image(name = "a", parent = ":root")` + "\n",
		"y/IMAGES.star":    `image(name = "grand", parent = "//z:a")` + "\n",
		"a/IMAGES.star":    `image(name = "other", ` + amiSource + ")\n",
		"m/IMAGES.star":    `image(name = "leaf", parent = "//y:grand")` + "\n",
		"base/IMAGES.star": `image(name = "mid", parent = "//a:other")` + "\n",
	})
	a := analyze(t, root, rules.Config{})
	want := []string{"//a:other", "//z:root", "//base:mid", "//z:a", "//z:b", "//y:grand", "//m:leaf"}
	if got := labelStrings(a.Graph.Order); !reflect.DeepEqual(got, want) {
		t.Errorf("Order = %v, want %v", got, want)
	}
	if got := labelStrings(a.Graph.Ancestors(lbl(t, "//m:leaf"))); !reflect.DeepEqual(got, []string{"//y:grand", "//z:a", "//z:root"}) {
		t.Errorf("Ancestors(//m:leaf) = %v", got)
	}
}

// selectWorkspace has an apps tree, a legacy tree and a base package.
func selectWorkspace() map[string]string {
	return map[string]string{
		"IMAGES.star":            awsWorkspace,
		"base/IMAGES.star":       `image(name = "base", ` + amiSource + ")\n",
		"apps/api/IMAGES.star":   `image(name = "api", parent = "//base:base")` + "\n" + `image(name = "api-canary", parent = ":api")` + "\n",
		"apps/web/IMAGES.star":   `image(name = "web", parent = "//base:base")` + "\n",
		"legacy/IMAGES.star":     `image(name = "old", parent = "//base:base")` + "\n",
		"legacy/php/IMAGES.star": `image(name = "php", parent = "//legacy:old")` + "\n",
		"legacyish/IMAGES.star":  `image(name = "keep", parent = "//base:base")` + "\n",
		"tools/IMAGES.star":      `image(name = "tools", parent = "//legacy/php:php")` + "\n",
	}
}

// TestSelect shows that patterns add and subtract targets left to right.
func TestSelect(t *testing.T) {
	root := writeWorkspace(t, selectWorkspace())
	tests := []struct {
		patterns []string
		want     []string
	}{
		{[]string{"//..."}, []string{"//base:base", "//apps/api:api", "//apps/web:web", "//legacy:old", "//legacyish:keep", "//apps/api:api-canary", "//legacy/php:php", "//tools:tools"}},
		{[]string{"//...", "-//legacy/..."}, []string{"//base:base", "//apps/api:api", "//apps/web:web", "//legacyish:keep", "//apps/api:api-canary", "//tools:tools"}},
		{[]string{"//...", "-//legacy/...", "//legacy/php"}, []string{"//base:base", "//apps/api:api", "//apps/web:web", "//legacyish:keep", "//apps/api:api-canary", "//legacy/php:php", "//tools:tools"}},
		{[]string{"//legacy/php", "//...", "-//legacy/..."}, []string{"//base:base", "//apps/api:api", "//apps/web:web", "//legacyish:keep", "//apps/api:api-canary", "//tools:tools"}},
		{[]string{"//apps/...", "-//apps/api:api-canary"}, []string{"//apps/api:api", "//apps/web:web"}},
		{[]string{"//apps/api:all", "-//apps/api:api"}, []string{"//apps/api:api-canary"}},
		{[]string{"//legacy:all"}, []string{"//legacy:old"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, " "), func(t *testing.T) {
			a, err := engine.LoadGraph(context.Background(), loader(t, root, rules.Config{}), patterns(t, tt.patterns...))
			if err != nil {
				t.Fatal(err)
			}
			if got := labelStrings(a.Targets); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("targets %v, want %v", got, tt.want)
			}
		})
	}
}

// TestClosure shows that the closure adds the ancestors of the targets,
// and that the loader loads their packages though no pattern names them.
func TestClosure(t *testing.T) {
	root := writeWorkspace(t, selectWorkspace())
	tests := []struct {
		patterns    []string
		wantClosure []string
		wantLoaded  []string
	}{
		{[]string{"//apps/api:api-canary"}, []string{"//base:base", "//apps/api:api", "//apps/api:api-canary"}, []string{"apps/api", "base"}},
		{[]string{"//tools"}, []string{"//base:base", "//legacy:old", "//legacy/php:php", "//tools:tools"}, []string{"base", "legacy", "legacy/php", "tools"}},
		{[]string{"//...", "-//legacy/..."}, []string{"//base:base", "//apps/api:api", "//apps/web:web", "//legacy:old", "//legacyish:keep", "//apps/api:api-canary", "//legacy/php:php", "//tools:tools"}, nil},
		{[]string{"//apps/web", "//base"}, []string{"//base:base", "//apps/web:web"}, []string{"apps/web", "base"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, " "), func(t *testing.T) {
			a := analyze(t, root, rules.Config{}, tt.patterns...)
			if got := labelStrings(a.Closure); !reflect.DeepEqual(got, tt.wantClosure) {
				t.Errorf("closure %v, want %v", got, tt.wantClosure)
			}
			if len(a.Keys) != len(tt.wantClosure) {
				t.Errorf("%d keys for a closure of %d", len(a.Keys), len(tt.wantClosure))
			}
			if tt.wantLoaded == nil {
				return
			}
			var loaded []string
			for p := range a.Result.Loaded {
				loaded = append(loaded, p)
			}
			sort.Strings(loaded)
			if !reflect.DeepEqual(loaded, tt.wantLoaded) {
				t.Errorf("loaded %v, want %v", loaded, tt.wantLoaded)
			}
		})
	}
}

// TestPatternErrors shows the errors of patterns that name nothing.
func TestPatternErrors(t *testing.T) {
	root := writeWorkspace(t, selectWorkspace())
	tests := []struct {
		pattern, want string
	}{
		{"//apps/apj", "package //apps/apj does not exist\n  hint: did you mean //apps/api?"},
		{"//nothing/...", "no packages found beneath //nothing"},
		{"//apps/api:api-canery", `package //apps/api has no image "api-canery"` + "\n  hint: did you mean //apps/api:api-canary?"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			_, err := tryAnalyze(t, root, rules.Config{}, engine.AnalyzeOptions{}, tt.pattern)
			var pe *engine.PatternError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a PatternError saying %q", err, tt.want)
			}
		})
	}
}
