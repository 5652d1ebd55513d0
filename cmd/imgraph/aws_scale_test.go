//go:build linux

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

// awsScale is a generated workspace on the aws platform whose root images
// start from a base image the simulator has, and that simulator, with
// EC2's rate limits (its defaults) and a tenth of EC2's delays.
type awsScale struct {
	sim  *ec2sim.Sim
	ws   *testWorkspace
	envs []string
}

func newAWSScale(tb testing.TB, images int) *awsScale {
	tb.Helper()
	rootfs := filepath.Join(tb.TempDir(), "al2023")
	testrootfs.At(tb, rootfs)
	sim, err := ec2sim.New(ec2sim.Options{SSHPort: 22, TimeFactor: 0.1})
	if err != nil {
		tb.Fatal(err)
	}
	endpoint, err := sim.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sim.Close() })
	base, err := sim.RegisterImage("us-east-1", ec2sim.BaseImage{Name: al2023, Owner: "amazon", Architecture: "x86_64", RootFS: rootfs})
	if err != nil {
		tb.Fatal(err)
	}
	ws := &testWorkspace{root: filepath.Join(tb.TempDir(), "ws"), cache: filepath.Join(tb.TempDir(), "cache")}
	if _, err := gen.Write(ws.root, gen.Config{Images: images, Packages: images / 10, Depth: 4, FanOut: 4,
		Seed: 1, Platform: "aws", BaseAMI: base}); err != nil {
		tb.Fatal(err)
	}
	s := &awsScale{sim: sim, ws: ws}
	for _, kv := range []string{
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_POLL_DELAY_SECONDS=0.2",
		"AWS_CONFIG_FILE=" + filepath.Join(tb.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(tb.TempDir(), "none"),
	} {
		k, v, _ := strings.Cut(kv, "=")
		tb.Setenv(k, v)
		s.envs = append(s.envs, kv)
	}
	return s
}

// build runs `imgraph build //... --jobs 64` and reports what it took and
// how often the simulator throttled it.
func (s *awsScale) build(tb testing.TB, images int) (wall time.Duration, throttled int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var stdout, stderr output
	e := &env{dir: s.ws.root, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" }, lookupEnv: func(string) (string, bool) { return "", false }}
	start := time.Now()
	code := run(ctx, e, []string{"--cache", s.ws.cache, "build", "//...", "--jobs", "64"})
	wall = time.Since(start)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if _, count := summary(tb, r.stdout); code != exitOK || count != fmt.Sprintf("%d images: %d baked", images, images) {
		tb.Fatalf("build: %s", tail(r.String()))
	}
	var lines []string
	for region, actions := range s.sim.Throttled() {
		for action, n := range actions {
			throttled += n
			lines = append(lines, fmt.Sprintf("%s %s: %d", region, action, n))
		}
	}
	sort.Strings(lines)
	if throttled > 0 {
		tb.Logf("RequestLimitExceeded answers:\n%s", strings.Join(lines, "\n"))
	}
	return wall, throttled
}

// BenchmarkAWSBuild100 is `imgraph build //... --jobs 64` of a generated
// workspace of 100 images (depth 4, fan-out 4; a fifth of them copied to
// a second region) on the aws platform, against the simulator with EC2's
// request rate limits and a tenth of EC2's delays, from nothing baked. It
// reports the RequestLimitExceeded answers the build met (throttled/op),
// and fails if there are any: the aws platform's own rate limiter is
// there to stay within EC2's.
//
//	go test ./cmd/imgraph -run '^$' -bench AWSBuild100 -benchtime 1x
func BenchmarkAWSBuild100(b *testing.B) {
	const images = 100
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		s := newAWSScale(b, images)
		b.StartTimer()
		wall, throttled := s.build(b, images)
		total += wall
		b.ReportMetric(float64(throttled), "throttled/op")
		calls := 0
		for _, actions := range s.sim.Calls() {
			for _, n := range actions {
				calls += n
			}
		}
		b.ReportMetric(float64(calls), "calls/op")
		if throttled > 0 {
			b.Errorf("the build met %d RequestLimitExceeded answers; want none", throttled)
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "wall-s/op")
}
