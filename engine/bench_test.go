package engine_test

import (
	"context"
	"testing"

	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// BenchmarkAnalyze10k is the figure the README quotes: finding the
// workspace, loading 1,000 packages of 10,000 images, building the graph and
// computing every key (files hashed from the page cache).
func BenchmarkAnalyze10k(b *testing.B) {
	root := b.TempDir()
	if _, err := gen.Write(root, gen.Config{
		Images: 10000, Packages: 1000, Depth: 6, FanOut: 4,
		ScriptBytes: 1024, SharedFiles: 50, Seed: 1,
	}); err != nil {
		b.Fatal(err)
	}
	all := []label.Pattern{{Recursive: true, Selects: label.Rules}}
	b.ResetTimer()
	for b.Loop() {
		ws, err := rules.FindWorkspace(root)
		if err != nil {
			b.Fatal(err)
		}
		l, err := rules.NewLoader(ws, rules.Config{})
		if err != nil {
			b.Fatal(err)
		}
		a, err := engine.Analyze(context.Background(), l, engine.AnalyzeOptions{Patterns: all, Platform: local.Platform{}})
		if err != nil {
			b.Fatal(err)
		}
		if len(a.Keys) != 10000 {
			b.Fatalf("%d keys, want 10000", len(a.Keys))
		}
	}
}
