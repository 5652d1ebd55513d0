package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/internal/gen/prebaked"
)

// BenchmarkScale is imgraph as a user runs it, a new process for every
// command, on generated workspaces of 1,000, 10,000 and 50,000 images in
// the generator's benchmark configuration (ten images a package, depth 6,
// fan-out 4, 1 KiB scripts, 50 shared files), on the local platform:
//
//	images=N/plan         `imgraph plan //...` with nothing baked
//	images=10000/package  `imgraph plan //pkg500/...`: one package and its parents
//	images=N/noop         `imgraph plan //...` with every image baked
//
// An op is one process, the digest cache (and the cache's indexes) warm:
// what every run after the first costs. first-s is the first run's time,
// when they were cold; peak-MB is the largest resident set of any run.
func BenchmarkScale(b *testing.B) {
	dir := b.TempDir() // the workspaces serve several sub-benchmarks
	workspaces := map[int]string{}
	workspace := func(b *testing.B, n int) string {
		if root, ok := workspaces[n]; ok {
			return root
		}
		root := filepath.Join(dir, fmt.Sprintf("ws%d", n))
		if _, err := gen.Write(root, gen.Config{Images: n, Packages: n / 10, Depth: 6, FanOut: 4,
			ScriptBytes: 1024, SharedFiles: 50, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		workspaces[n] = root
		return root
	}
	for _, n := range []int{1000, 10000, 50000} {
		b.Run(fmt.Sprintf("images=%d/plan", n), func(b *testing.B) {
			benchProcess(b, workspace(b, n), b.TempDir(), "plan", "//...")
		})
		if n == 10000 {
			b.Run("images=10000/package", func(b *testing.B) {
				benchProcess(b, workspace(b, n), b.TempDir(), "plan", "//pkg500/...")
			})
		}
		if n <= 10000 {
			b.Run(fmt.Sprintf("images=%d/noop", n), func(b *testing.B) {
				root, cacheDir := workspace(b, n), b.TempDir()
				if _, err := prebaked.Fill(context.Background(), root, cacheDir); err != nil {
					b.Fatal(err)
				}
				benchProcess(b, root, cacheDir, "plan", "//...")
			})
		}
	}
}

// benchProcess times imgraph args in root, with the local cache cacheDir,
// a process an op, once everything written before has settled (files
// changed within cache.RacyWindow of a run are read again by the next).
func benchProcess(b *testing.B, root, cacheDir string, args ...string) {
	time.Sleep(cache.RacyWindow + 10*time.Millisecond)
	var peak int64
	run := func() {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), asCLIEnv+"=1", "IMGRAPH_CACHE_DIR="+cacheDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("imgraph %v: %v\n%s", args, err, tail(string(out)))
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss) // KB on Linux
		}
	}
	start := time.Now()
	run()
	first := time.Since(start)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.ReportMetric(first.Seconds(), "first-s")
	b.ReportMetric(float64(peak)/1024, "peak-MB")
}
