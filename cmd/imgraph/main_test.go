package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/emulators"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

// The end-to-end tests of imgraph build bake for real, in chroots of a
// BusyBox root filesystem, through the CLI: in this process through run,
// or in a child process where a signal or a second process is the point.

const asCLIEnv = "IMGRAPH_TEST_AS_CLI"

// testTimeout bounds every build a test runs: a hang fails the test
// rather than the whole package.
const testTimeout = 90 * time.Second

func TestMain(m *testing.M) {
	// The local platform's sandboxes are this binary re-executed.
	sandbox.MaybeRun()
	if os.Getenv(asCLIEnv) == "1" {
		// This binary is imgraph for the tests that need a process.
		main()
		os.Exit(exitOK) // main exits itself; this is never reached
	}
	os.Exit(runTests(m))
}

// runTests runs the tests with no AWS account in the environment: a test
// that wants one points the SDK at the simulator or the emulators.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "imgraph-test-aws-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	emulators.Isolate(dir)
	return m.Run()
}

// testWorkspace is a workspace on disk and the cache its builds use.
type testWorkspace struct {
	root  string
	cache string
}

// newWorkspace writes a workspace of the local platform with files (path
// relative to the root -> content) and a BusyBox root filesystem at
// base/rootfs, for an image of //base to name as rootfs(path = "rootfs").
func newWorkspace(t *testing.T, files map[string]string) *testWorkspace {
	t.Helper()
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{"IMAGES.star": `workspace(name = "t", platform = "local")` + "\n"})
	writeFiles(t, ws.root, files)
	testrootfs.At(t, filepath.Join(ws.root, "base", "rootfs"))
	return ws
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// result is what one run of imgraph did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit code %d\n--- stdout ---\n%s--- stderr ---\n%s", r.code, r.stdout, r.stderr)
}

// imgraph runs the CLI in this process in the workspace root, on the
// workspace's cache, with secrets as its whole environment. It calls no
// t.Fatal, so a test may run it on another goroutine.
func (ws *testWorkspace) imgraph(t *testing.T, secrets map[string]string, args ...string) result {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var stdout, stderr output
	e := &env{dir: ws.root, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(name string) string { return secrets[name] },
		lookupEnv: func(name string) (string, bool) {
			v, ok := secrets[name]
			return v, ok
		}}
	code := run(ctx, e, append([]string{"--cache", ws.cache}, args...))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// output collects what a run writes, safely from any goroutine, and lets a
// test wait for a piece of it to appear.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed at the next write
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output contains s.
func (o *output) waitFor(ctx context.Context, s string) error {
	for {
		o.mu.Lock()
		if strings.Contains(o.buf.String(), s) {
			o.mu.Unlock()
			return nil
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		o.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %q: %w", s, ctx.Err())
		}
	}
}

// process is imgraph running as a child process (this test binary, which
// TestMain turns into imgraph).
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *output
	done           chan struct{} // closed once the process is waited for
	code           int
}

// start starts imgraph in the workspace root on the workspace's cache, with
// this process's environment and env added. The process is killed and
// waited for when the test ends.
func (ws *testWorkspace) start(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	p := &process{stdout: &output{}, stderr: &output{}, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, exe, append([]string{"--cache", ws.cache}, args...)...)
	p.cmd.Dir = ws.root
	// Without atexit_sleep_ms a race-enabled imgraph sleeps a second at exit.
	p.cmd.Env = append(os.Environ(), asCLIEnv+"=1",
		strings.TrimSpace("GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdin = strings.NewReader("")
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting imgraph: %v", err)
	}
	go func() {
		defer cancel()
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill() // an error only says it is gone already
		<-p.done
	})
	return p
}

// wait waits for the process to exit and returns what it did.
func (p *process) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(testTimeout):
		// Only a guard. SIGQUIT has the Go runtime print every
		// goroutine's stack, to say where it hangs.
		p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
		t.Fatalf("imgraph did not exit\n--- stderr ---\n%s", p.stderr.String())
	}
	return result{code: p.code, stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// readEvents reads a file written by --events.
func readEvents(t *testing.T, path string) []engine.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var events []engine.Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e engine.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: a line that is not an event: %v\n%s", path, err, sc.Text())
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// bakeEvents returns the events of type typ about bakes, by label: starts,
// finishes and failures of bakes (not copies), and every cached or skipped.
func bakeEvents(events []engine.Event, typ string) map[string][]engine.Event {
	out := map[string][]engine.Event{}
	for _, e := range events {
		if e.Type == typ && (e.Action == "bake" || typ == engine.EventCached || typ == engine.EventSkip) {
			out[e.Label] = append(out[e.Label], e)
		}
	}
	return out
}

// keyOf returns the key events give label.
func keyOf(t *testing.T, events []engine.Event, label string) string {
	t.Helper()
	for _, e := range events {
		if e.Label == label && e.Key != "" {
			return e.Key
		}
	}
	t.Fatalf("no event names %s", label)
	return ""
}

// summaryRow is one line of the table a build ends with.
type summaryRow struct{ label, action, id string }

// summary parses the table of a build's stdout, by label, and returns its
// last line, the counts.
func summary(t testing.TB, stdout string) (map[string]summaryRow, string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "IMAGE ") {
		t.Fatalf("stdout holds no summary table:\n%s", stdout)
	}
	rows := map[string]summaryRow{}
	i := 1
	for ; i < len(lines) && strings.HasPrefix(lines[i], "//"); i++ {
		f := strings.Fields(lines[i])
		r := summaryRow{label: f[0], action: f[1]}
		if len(f) > 2 {
			r.id = f[2]
		}
		rows[r.label] = r
	}
	if i >= len(lines) {
		t.Fatalf("the summary has no count line:\n%s", stdout)
	}
	return rows, lines[i]
}

// buildJSON is what build --output json prints.
type buildJSON struct {
	Targets []struct {
		Label   string            `json:"label"`
		Key     string            `json:"key"`
		Action  string            `json:"action"`
		Images  map[string]string `json:"images"`
		Error   string            `json:"error"`
		Reason  string            `json:"reason"`
		Log     string            `json:"log"`
		Seconds *float64          `json:"seconds"`
	} `json:"targets"`
	Failed  *int `json:"failed"`
	Skipped *int `json:"skipped"`
}

func parseBuildJSON(t *testing.T, stdout string) *buildJSON {
	t.Helper()
	var out buildJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("build --output json printed no valid report: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("build --output json printed more than one JSON value:\n%s", stdout)
	}
	if out.Targets == nil || out.Failed == nil || out.Skipped == nil {
		t.Fatalf("build --output json lacks targets, failed or skipped:\n%s", stdout)
	}
	return &out
}

// recordKeys lists the keys the cache holds records of, and fails the test
// on a record that is not a JSON object naming its own key.
func recordKeys(t *testing.T, cacheDir string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(cacheDir, "records"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
			return err // the records' index (records/index) is no record
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var rec struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Errorf("record %s is not JSON: %v\n%s", p, err, data)
			return nil
		}
		if rec.Key+".json" != d.Name() {
			t.Errorf("record %s holds key %q", p, rec.Key)
		}
		keys[rec.Key] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// tmpTrees lists the temporary trees left in the cache's images directory.
func tmpTrees(t *testing.T, cacheDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cacheDir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			left = append(left, e.Name())
		}
	}
	return left
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
