package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/cache/remote"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/emulators"
	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// BenchmarkNoopBuild1000Shared is `imgraph build` of 1,000 images that a
// previous build on another runner baked: this runner's local cache holds
// no records, so every lookup goes to the shared cache (S3 and DynamoDB,
// the emulators). It reports the DynamoDB calls one build makes, counted
// by a proxy in front of the emulator.
func BenchmarkNoopBuild1000Shared(b *testing.B) {
	emulators.Start(b)
	var calls atomic.Int64
	target, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	if err != nil {
		b.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	b.Cleanup(counter.Close)
	b.Setenv("AWS_ENDPOINT_URL_DYNAMODB", counter.URL)

	root := b.TempDir()
	if _, err := gen.Write(root, gen.Config{Images: 1000, Packages: 100, Depth: 4, FanOut: 4, Seed: 7}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		b.Fatal(err)
	}
	loader, err := rules.NewLoader(ws, rules.Config{})
	if err != nil {
		b.Fatal(err)
	}
	a, err := engine.Analyze(ctx, loader, engine.AnalyzeOptions{Patterns: []label.Pattern{{Recursive: true, Selects: label.Rules}}, Platform: local.Platform{}})
	if err != nil {
		b.Fatal(err)
	}
	cacheURL := "s3://bench/imgraph?table=imgraph-bench&region=us-east-1"
	where, _ := remote.ParseURL(cacheURL)
	if _, err := remote.Init(ctx, where, remote.Options{}); err != nil {
		b.Fatal(err)
	}
	shared, err := remote.Open(ctx, where, remote.Options{RunID: "earlier-runner"})
	if err != nil {
		b.Fatal(err)
	}
	// What the earlier build left: every record in the shared cache, and
	// (the local platform's images being trees on this machine) every image.
	localDir := b.TempDir()
	for l, k := range a.Keys {
		inputs, _ := json.Marshal(k.Parts)
		im := a.Graph.Images[l]
		images := map[string]string{}
		for _, r := range im.Regions {
			images[r] = k.Hex
		}
		rec := &cache.Record{Key: k.Hex, Label: l.String(), Platform: rules.PlatformLocal, Images: images,
			Tags: bake.Want(im).Tags, ShareWith: im.ShareWith, PublishSSM: im.PublishSSM, Inputs: inputs, Created: time.Now().UTC()}
		if err := shared.Put(ctx, rec); err != nil {
			b.Fatal(err)
		}
		// A whole image: a tree, and the count of its top entries.
		if err := os.MkdirAll(filepath.Join(localDir, "images", k.Hex, "etc"), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(localDir, "images", k.Hex+".entries"), []byte("1\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.Setenv("IMGRAPH_CACHE_DIR", localDir)

	var perBuild int64
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		// A runner that has not built these before: no local records.
		os.RemoveAll(filepath.Join(localDir, "records"))
		os.RemoveAll(filepath.Join(localDir, "labels"))
		calls.Store(0)
		b.StartTimer()
		var stdout, stderr strings.Builder
		e := &env{dir: root, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			getenv: os.Getenv, lookupEnv: os.LookupEnv}
		if code := run(ctx, e, []string{"build", "--cache", cacheURL, "//..."}); code != exitOK {
			b.Fatalf("build: exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
		if !strings.Contains(stdout.String(), "1000 images: 1000 cached") {
			b.Fatalf("the build was not a no-op:\n%s", tail(stdout.String()))
		}
		perBuild = calls.Load()
	}
	b.ReportMetric(float64(perBuild), "dynamodb-calls/op")
}

func tail(s string) string {
	if i := strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}
