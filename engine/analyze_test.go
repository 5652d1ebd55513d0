package engine_test

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgraph/imgraph/cache"
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
		whole := analyze(t, root, rules.Config{})
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
			a := analyze(t, root, rules.Config{}, ps...)
			want := engine.Select(whole.Graph, patterns(t, ps...))
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
			for _, p := range patterns(t, ps...) {
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

// countingDigests counts what a DigestCache answers.
type countingDigests struct {
	*cache.FileIndex
	hits, misses atomic.Int64
}

func (c *countingDigests) Lookup(path string, fi fs.FileInfo) (string, bool) {
	sum, ok := c.FileIndex.Lookup(path, fi)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return sum, ok
}

// With a digest cache, keys are what reading every file gives: an
// unchanged file is not read again, and an edit that keeps a script's
// size and modification time changes the keys all the same.
func TestKeysWithADigestCache(t *testing.T) {
	t.Parallel() // waits for the clock
	root := t.TempDir()
	if _, err := gen.Write(root, gen.Config{Images: 60, Packages: 6, SharedFiles: 3, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	store, err := cache.OpenLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	analyzeWith := func(dc engine.DigestCache) *engine.Analysis {
		t.Helper()
		a, err := tryAnalyze(t, root, rules.Config{}, engine.AnalyzeOptions{Digests: dc})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	sameKeys := func(when string, a, b *engine.Analysis) {
		t.Helper()
		for l, k := range b.Keys {
			if a.Keys[l].Hex != k.Hex {
				t.Fatalf("%s: %s keyed %s with the digest cache, %s reading every file", when, l, a.Keys[l].Short(), k.Short())
			}
		}
	}
	// Files just written are read again by every run until they settle.
	racy := &countingDigests{FileIndex: store.Digests()}
	sameKeys("a run right after the files were written", analyzeWith(racy), analyzeWith(nil))
	if err := racy.Save(); err != nil {
		t.Fatal(err)
	}
	waitForTheClock(t, root)
	first := &countingDigests{FileIndex: store.Digests()}
	sameKeys("first run", analyzeWith(first), analyzeWith(nil))
	if first.hits.Load() != 0 || first.misses.Load() == 0 {
		t.Fatalf("first run: %d hits, %d misses; want no hits: nothing was recorded", first.hits.Load(), first.misses.Load())
	}
	script := filepath.Join(root, "shared", "common-0.sh")
	if _, err := os.Stat(script); err != nil {
		matches, _ := filepath.Glob(filepath.Join(root, "*", "scripts", "*.sh"))
		script = matches[0]
	}
	if err := first.Save(); err != nil {
		t.Fatal(err)
	}
	second := &countingDigests{FileIndex: store.Digests()}
	before := analyzeWith(nil)
	sameKeys("second run", analyzeWith(second), before)
	if second.misses.Load() != 0 || second.hits.Load() != first.misses.Load() {
		t.Fatalf("second run: %d hits and %d misses, want %d hits", second.hits.Load(), second.misses.Load(), first.misses.Load())
	}

	fi, err := os.Stat(script)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(script)
	edited := append([]byte("#"), data[:len(data)-1]...)
	if err := os.WriteFile(script, edited, fi.Mode()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(script, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	after := analyzeWith(&countingDigests{FileIndex: store.Digests()})
	sameKeys("after an edit that kept the size and the time", after, analyzeWith(nil))
	changed := 0
	for l, k := range after.Keys {
		if before.Keys[l].Hex != k.Hex {
			changed++
		}
	}
	if changed == 0 {
		t.Error("editing a script changed no key")
	}
}

// waitForTheClock waits until every file of the workspace changed longer
// ago than cache.RacyWindow, and the file system's clock, as a new file's
// times show it, has moved past their last change: what is read of them
// now is recorded, and files written next are later, by that clock.
func waitForTheClock(t *testing.T, dir string) {
	t.Helper()
	last := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := cache.StatOf(fi)
		return max(st.MTime, st.CTime)
	}
	newest := int64(0)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			newest = max(newest, last(p))
		}
		return nil
	})
	time.Sleep(time.Until(time.Unix(0, newest).Add(cache.RacyWindow + time.Millisecond)))
	probe := filepath.Join(t.TempDir(), "tick")
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := os.WriteFile(probe, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if last(probe) > newest {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the file system's clock does not move")
		}
	}
}
