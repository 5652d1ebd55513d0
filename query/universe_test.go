package query

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/label"
)

// testNodes is a small monorepo: two root images (al2023, ubuntu), two
// diamonds (api and web reach //base:harden.sh directly and through their
// parents; jre17 reaches setup.sh directly and not through al2023), files
// as nodes, a package holding only files (common), a package that shares
// a prefix with apps (apps-extra), and a dependency outside the universe.
func testNodes() []Node {
	type attrs = map[string]string
	return []Node{
		image("//base:al2023", attrs{"regions": "[us-east-1]", "salt": "2026-11", "description": "Amazon Linux 2023"},
			"//base:harden.sh", "//base:files/motd"),
		image("//base:ubuntu", attrs{"regions": "[us-east-1, eu-west-1]"},
			"//common:scripts/setup.sh"),
		image("//platform/java:jre17", attrs{"regions": "[us-east-1, eu-west-1]"},
			"//base:al2023", "//common:scripts/setup.sh"),
		image("//platform/java:jre21", nil, "//base:al2023"),
		image("//apps/api:api", attrs{"regions": "[us-east-1, eu-west-1]", "description": "API server"},
			"//platform/java:jre17", "//apps/api:install.sh", "//apps/api:files/api.service", "//base:harden.sh"),
		image("//apps/web:web", nil, "//platform/java:jre21", "//base:harden.sh"),
		image("//apps/worker:worker", nil, "//base:ubuntu"),
		image("//apps-extra:tool", nil, "//base:al2023"),
		image("//legacy/old:old", nil, "//base:ubuntu", "//nowhere:missing"),
		file("//base:harden.sh"),
		file("//base:files/motd"),
		file("//common:scripts/setup.sh"),
		file("//apps/api:install.sh"),
		file("//apps/api:files/api.service"),
	}
}

func image(l string, attrs map[string]string, deps ...string) Node {
	n := Node{Label: mustLabel(l), Kind: KindImage, Attrs: attrs}
	for _, d := range deps {
		n.Deps = append(n.Deps, mustLabel(d))
	}
	return n
}

func file(l string) Node { return Node{Label: mustLabel(l), Kind: KindFile} }

func mustLabel(s string) label.Label {
	l, err := label.Parse(s)
	if err != nil {
		panic(err)
	}
	return l
}

// Every image label, and every label, of testNodes, sorted.
var (
	allImages = []string{
		"//apps-extra:tool", "//apps/api:api", "//apps/web:web", "//apps/worker:worker",
		"//base:al2023", "//base:ubuntu", "//legacy/old:old",
		"//platform/java:jre17", "//platform/java:jre21",
	}
	allFiles = []string{
		"//apps/api:files/api.service", "//apps/api:install.sh",
		"//base:files/motd", "//base:harden.sh", "//common:scripts/setup.sh",
	}
)

func testUniverse() *Universe { return NewUniverse(testNodes()) }

// evalCase is one row of the evaluation tables: an expression, the
// directory it is run from, and the labels it must give.
type evalCase struct {
	expr string
	cwd  string
	want []string
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	u := testUniverse()
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			got := evalLabels(t, u, tc.expr, tc.cwd)
			want := sortLabels(tc.want)
			if !slices.Equal(got, want) {
				t.Errorf("%s\n got: %s\nwant: %s", tc.expr, strings.Join(got, " "), strings.Join(want, " "))
			}
		})
	}
}

// sortLabels sorts labels as Eval does: by package, then name.
func sortLabels(labels []string) []string {
	out := slices.Clone(labels)
	slices.SortFunc(out, func(a, b string) int { return compareLabels(mustLabel(a), mustLabel(b)) })
	if out == nil {
		out = []string{}
	}
	return out
}

func evalLabels(t *testing.T, u *Universe, expr, cwd string) []string {
	t.Helper()
	e, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	nodes, err := Eval(context.Background(), u, e, cwd)
	if err != nil {
		t.Fatalf("Eval(%q): %v", expr, err)
	}
	got := []string{} // not nil: an empty result compares equal to want{}
	for _, n := range nodes {
		got = append(got, n.Label.String())
	}
	if !slices.IsSortedFunc(nodes, func(a, b *Node) int { return compareLabels(a.Label, b.Label) }) {
		t.Errorf("Eval(%q) is not sorted by label", expr)
	}
	return got
}

// errorCase is an expression that must fail with a *Error at offset whose
// message is msg.
type errorCase struct {
	expr   string
	cwd    string
	offset int
	msg    string
}

func runErrorCases(t *testing.T, cases []errorCase) {
	t.Helper()
	u := testUniverse()
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err == nil {
				_, err = Eval(context.Background(), u, e, tc.cwd)
			}
			if err == nil {
				t.Fatalf("%q: no error, want %q", tc.expr, tc.msg)
			}
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("%q: error %v is %T, want *query.Error", tc.expr, err, err)
			}
			if !qe.BadInput() {
				t.Errorf("%q: BadInput() = false", tc.expr)
			}
			if qe.Msg != tc.msg {
				t.Errorf("%q:\n got message %q\nwant message %q", tc.expr, qe.Msg, tc.msg)
			}
			if qe.Offset != tc.offset {
				t.Errorf("%q: offset %d, want %d", tc.expr, qe.Offset, tc.offset)
			}
		})
	}
}

func TestNewUniverse(t *testing.T) {
	u := NewUniverse([]Node{
		{Label: mustLabel("//b:b"), Kind: KindImage, Deps: []label.Label{mustLabel("//a:a"), mustLabel("//a:a"), mustLabel("//x:gone")}},
		{Label: mustLabel("//a:a"), Kind: KindImage, Attrs: map[string]string{"first": "yes"}},
		{Label: mustLabel("//a:a"), Kind: KindImage, Attrs: map[string]string{"second": "yes"}},
	})
	if u.Len() != 2 {
		t.Fatalf("Len() = %d, want 2 (duplicates dropped)", u.Len())
	}
	a, ok := u.Lookup(mustLabel("//a:a"))
	if !ok || a.Attrs["first"] != "yes" {
		t.Errorf("Lookup(//a:a) = %+v, %v; want the first node given", a, ok)
	}
	b, _ := u.Lookup(mustLabel("//b:b"))
	if len(b.Deps) != 3 {
		t.Errorf("the node's Deps changed: %v", b.Deps)
	}
	ia, ib := u.index[mustLabel("//a:a")], u.index[mustLabel("//b:b")]
	if !slices.Equal(u.deps[ib], []int32{ia}) || !slices.Equal(u.rdeps[ia], []int32{ib}) {
		t.Errorf("edges: deps %v rdeps %v; want one edge //b:b -> //a:a", u.deps, u.rdeps)
	}
	if _, ok := u.Lookup(mustLabel("//x:gone")); ok {
		t.Error("a missing dependency became a node")
	}
}

func TestEvalNilUniverse(t *testing.T) {
	e, _ := Parse("//...")
	nodes, err := Eval(context.Background(), nil, e, "")
	if err != nil || len(nodes) != 0 {
		t.Errorf("Eval over no universe = %v, %v; want nothing", nodes, err)
	}
}

func TestEvalCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e, _ := Parse("deps(//...)")
	if _, err := Eval(ctx, testUniverse(), e, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Eval with a cancelled context: %v, want context.Canceled", err)
	}
}
