package aws

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

const (
	home = "us-east-1"
	away = "eu-west-1"
)

// simWorld is a simulator with a base image in home, and a Baker whose
// SDK finds it through AWS_ENDPOINT_URL, as it would find EC2.
type simWorld struct {
	t     *testing.T
	sim   *ec2sim.Sim
	baker *Baker
	base  string
	port  int

	// onRequest, when set, sees each API request (its action) after the
	// simulator served it and before the answer goes back, and says what
	// becomes of the answer.
	mu        sync.Mutex
	onRequest func(action string) answer
}

type instantBackoff struct{}

func (instantBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Millisecond, nil }

// baseRootfs is the base image's root filesystem, made once.
var baseRootfs testrootfs.Shared

func busyboxRootfs(t *testing.T) string { return baseRootfs.Get(t) }

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newSimWorld(t *testing.T, opts Options) *simWorld {
	t.Helper()
	return newSimWorldWith(t, opts, nil)
}

// newSimWorldWith is newSimWorld with the simulator's options changed by
// simOpts (nil: none).
func newSimWorldWith(t *testing.T, opts Options, simOpts func(*ec2sim.Options)) *simWorld {
	t.Helper()
	rootfs := busyboxRootfs(t)
	w := &simWorld{t: t, port: freePort(t)}
	so := ec2sim.Options{
		Regions: []string{home, away}, SSHPort: w.port, Dir: t.TempDir(),
		Log: func(format string, args ...any) { t.Logf(format, args...) },
	}
	if simOpts != nil {
		simOpts(&so)
	}
	sim, err := ec2sim.New(so)
	if err != nil {
		t.Fatalf("ec2sim.New: %v", err)
	}
	w.sim = sim
	// The simulator's handler behind our own server, so a test can act
	// between the simulator's work and the client's hearing of it.
	api := sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/data-channel/") {
			api.ServeHTTP(rw, r) // a session's WebSocket
			return
		}
		action := ""
		if target := r.Header.Get("X-Amz-Target"); target != "" {
			action = target[strings.LastIndexByte(target, '.')+1:]
		} else {
			body, _ := readAll(r)
			r.Body = newBody(body)
			action = actionOf(body)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		w.mu.Lock()
		hook := w.onRequest
		w.mu.Unlock()
		a := deliver
		if hook != nil {
			a = hook(action)
		}
		switch a {
		case lose:
			// The client gives up on the request once its context ends.
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		case drop:
			if conn, _, err := rw.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.WriteHeader(rec.Code)
		rw.Write(rec.Body.Bytes())
	}))
	t.Cleanup(func() {
		srv.Close()
		if err := sim.Close(); err != nil {
			t.Errorf("ec2sim Close: %v", err)
		}
	})
	w.base, err = sim.RegisterImage(home, ec2sim.BaseImage{
		Name: "al2023-ami-2023.6.20261101.0-kernel-6.1-x86_64", Owner: "amazon", RootFS: rootfs,
		Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	isolateAWSConfig(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG")
	t.Setenv("AWS_REGION", home)
	t.Setenv("AWS_POLL_DELAY_SECONDS", "0.01")
	if opts.SSHTimeout == 0 {
		opts.SSHTimeout = 30 * time.Second
	}
	if opts.Warn == nil {
		opts.Warn = func(format string, args ...any) { t.Logf("warning: "+format, args...) }
	}
	opts.retryBackoff = instantBackoff{}
	w.baker, err = New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// answer is what becomes of the answer to a request.
type answer int

const (
	deliver answer = iota
	lose           // never sent: the client hears back only when it gives up
	drop           // the connection closes: the SDK retries the request
)

func (w *simWorld) hook(f func(action string) answer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onRequest = f
}

// image is an image of package //t for the simulator's instances.
func (w *simWorld) image(name string, provision ...rules.Provisioner) *rules.Image {
	return &rules.Image{
		Label:     label.Label{Pkg: "t", Name: name},
		Provision: provision,
		Regions:   []string{home},
		Tags:      map[string]string{"Team": "images"},
		AWS: rules.AWSAttrs{
			InstanceType: "t3.micro", SSHUser: "ec2-user", SSHPort: w.port, VolumeSizeGB: 8, Encrypted: true,
		},
	}
}

// testJob is a job and what its bake reported.
type testJob struct {
	*bake.Job
	log    *bytes.Buffer
	mu     sync.Mutex
	phases []string
	// onPhase, when set, sees each phase as it is reported.
	onPhase func(string)
}

func (j *testJob) Phases() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.phases...)
}

// job bakes im from parent (an image id), or from the base image.
func (w *simWorld) job(im *rules.Image, run, parent string) *testJob {
	key := randomKey()
	tj := &testJob{log: &bytes.Buffer{}}
	tj.Job = &bake.Job{
		Image: im, Key: key, RunID: run, Region: home,
		Tags: map[string]string{bake.TagKey: key, bake.TagLabel: im.Label.String(), "Team": "images"},
		Log:  &lockedWriter{w: tj.log},
	}
	tj.Phase = func(p string) {
		tj.mu.Lock()
		tj.phases = append(tj.phases, p)
		f := tj.onPhase
		tj.mu.Unlock()
		if f != nil {
			f(p)
		}
	}
	if parent != "" {
		tj.Parent = parent
	} else {
		tj.Source = &rules.Source{Kind: rules.SourceAMIFilter, Owners: []string{"amazon"}, NamePattern: "al2023-ami-*"}
		tj.SourceID = w.base
	}
	return tj
}

func randomKey() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newRunID() string { return "test-" + randomHex(4) }

// leftovers lists what run left behind in the simulator: live instances,
// key pairs, groups, volumes, images that are not finished and snapshots
// no image holds.
func (w *simWorld) leftovers(run string) []string {
	var out []string
	st := w.sim.State()
	for name, r := range st.Regions {
		held := map[string]bool{}
		for _, img := range r.Images {
			if img.Tags[bake.TagRun] == run && (img.State != "available" || img.Tags[bake.TagTemporary] != "") {
				out = append(out, fmt.Sprintf("%s image %s (%s)", name, img.ID, img.State))
				continue
			}
			for _, s := range img.Snapshots {
				held[s] = true
			}
		}
		runInstances := map[string]bool{}
		for _, in := range r.Instances {
			if in.Tags[bake.TagRun] == run {
				runInstances[in.ID] = true
				if in.State != "terminated" {
					out = append(out, fmt.Sprintf("%s instance %s (%s)", name, in.ID, in.State))
				}
			}
		}
		for _, v := range r.Volumes {
			if v.Tags[bake.TagRun] == run || runInstances[v.InstanceID] {
				out = append(out, fmt.Sprintf("%s volume %s (%s)", name, v.ID, v.State))
			}
		}
		for _, s := range r.Snapshots {
			if s.Tags[bake.TagRun] == run && !held[s.ID] {
				out = append(out, fmt.Sprintf("%s snapshot %s (%s)", name, s.ID, s.State))
			}
		}
		for _, k := range r.KeyPairs {
			if k.Tags[bake.TagRun] == run {
				out = append(out, fmt.Sprintf("%s key pair %s", name, k.Name))
			}
		}
		for _, g := range r.SecurityGroups {
			if g.Tags[bake.TagRun] == run {
				out = append(out, fmt.Sprintf("%s security group %s", name, g.ID))
			}
		}
	}
	sort.Strings(out)
	return out
}

func (w *simWorld) noLeftovers(t *testing.T, run string) {
	t.Helper()
	if left := w.leftovers(run); len(left) > 0 {
		t.Errorf("run %s left behind:\n  %s", run, strings.Join(left, "\n  "))
	}
}

// imageState is the simulator's view of an image.
func (w *simWorld) imageState(region, id string) *ec2sim.Image {
	for _, img := range w.sim.State().Regions[region].Images {
		if img.ID == id {
			return &img
		}
	}
	return nil
}

func readAll(r *http.Request) ([]byte, error) { return io.ReadAll(r.Body) }

func newBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func actionOf(body []byte) string {
	q, _ := url.ParseQuery(string(body))
	return q.Get("Action")
}
