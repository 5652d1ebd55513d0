package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imgraph/imgraph/cache/remote"
	"github.com/imgraph/imgraph/internal/emulators"
	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/internal/gen/prebaked"
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
	recs, err := prebaked.Records(ctx, root)
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
	for _, rec := range recs {
		if err := shared.Put(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	localDir := b.TempDir()
	if err := prebaked.Images(ctx, localDir, recs); err != nil {
		b.Fatal(err)
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
