package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/rules"
)

// BenchmarkAnalyze is the in-process half of the README's scale series:
// finding the workspace, loading every package, building the graph and
// computing every key, for 1,000, 10,000 and 50,000 images in the
// generator's benchmark configuration (ten images a package, depth 6,
// fan-out 4, 1 KiB scripts, 50 shared files). "warm" keys with the digest
// cache knowing every file, as every run after the first does; "cold"
// reads every file (from the page cache).
func BenchmarkAnalyze(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		root := b.TempDir()
		if _, err := gen.Write(root, gen.Config{
			Images: n, Packages: n / 10, Depth: 6, FanOut: 4,
			ScriptBytes: 1024, SharedFiles: 50, Seed: 1,
		}); err != nil {
			b.Fatal(err)
		}
		store, err := cache.OpenLocal(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		analyze := func(b *testing.B, dc *cache.FileIndex) {
			opts := engine.AnalyzeOptions{}
			if dc != nil {
				opts.Digests = dc
			}
			a, err := tryAnalyze(b, root, rules.Config{}, opts)
			if err != nil {
				b.Fatal(err)
			}
			if len(a.Keys) != n {
				b.Fatalf("%d keys, want %d", len(a.Keys), n)
			}
		}
		b.Run(fmt.Sprintf("images=%d/cold", n), func(b *testing.B) {
			for b.Loop() {
				analyze(b, nil)
			}
		})
		// Files changed within cache.RacyWindow of a run are not recorded.
		time.Sleep(cache.RacyWindow + 10*time.Millisecond)
		learn := store.Digests()
		analyze(b, learn)
		if err := learn.Save(); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("images=%d/warm", n), func(b *testing.B) {
			for b.Loop() {
				analyze(b, store.Digests())
			}
		})
	}
}
