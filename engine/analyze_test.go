package engine_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// A pattern loads the packages it names and those of its images'
// ancestors, not every package whose images a loaded package's other
// images descend from; and what it selects, and every key, is what
// analysing the whole workspace gives.
func TestAnalysisLoadsByNeed(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		root := t.TempDir()
		if _, err := gen.Write(root, gen.Config{Images: 400, Packages: 60, Depth: 5, FanOut: 3, SharedFiles: 6, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		whole := analyzeIn(t, root, "//...")
		pkgs := slices.Sorted(maps.Keys(whole.Result.Loaded))
		var someImage label.Label
		for _, l := range whole.Targets {
			if l.Pkg == pkgs[len(pkgs)/2] {
				someImage = l
			}
		}
		for _, ps := range [][]string{
			{"//" + pkgs[0] + "/..."},
			{"//" + pkgs[len(pkgs)/3] + ":all"},
			{someImage.String()},
			{"//teams/...", "-//teams/t1/..."},
			{"//" + pkgs[1] + "/...", "//" + pkgs[2] + "/..."},
		} {
			name := fmt.Sprintf("seed %d, %v", seed, ps)
			a := analyzeIn(t, root, ps...)
			want := engine.Select(whole.Graph, parsePatterns(t, ps...))
			if !slices.Equal(a.Targets, want) {
				t.Errorf("%s: targets %v, want %v", name, a.Targets, want)
			}
			if got, want := a.Closure, whole.Graph.Closure(want); !slices.Equal(got, want) {
				t.Errorf("%s: closure %v, want %v", name, got, want)
			}
			for _, l := range a.Closure {
				if a.Keys[l].Hex != whole.Keys[l].Hex {
					t.Errorf("%s: %s keyed %s, want %s as in //...", name, l, a.Keys[l].Short(), whole.Keys[l].Short())
				}
			}
			need := map[string]bool{}
			for _, l := range a.Closure {
				need[l.Pkg] = true
			}
			for _, p := range parsePatterns(t, ps...) {
				for _, pkg := range pkgs {
					if !p.Negative && p.MatchesPackage(pkg) {
						need[pkg] = true
					}
				}
			}
			for pkg := range a.Result.Loaded {
				if !need[pkg] {
					t.Errorf("%s: loaded //%s, which neither the patterns nor their images' ancestors need", name, pkg)
				}
			}
		}
	}
}

func analyzeIn(t *testing.T, root string, patterns ...string) *engine.Analysis {
	t.Helper()
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rules.NewLoader(ws, rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.Analyze(context.Background(), l, engine.AnalyzeOptions{Patterns: parsePatterns(t, patterns...), Platform: local.Platform{}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func parsePatterns(t *testing.T, ps ...string) []label.Pattern {
	t.Helper()
	var out []label.Pattern
	for _, s := range ps {
		p, err := label.ParsePattern(s, "")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
