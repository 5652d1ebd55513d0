// Package emulators starts the DynamoDB and S3 emulators that the remote
// cache's tests run against: dynalite and s3rver, installed from npm into
// internal/emulators/node_modules by `make test` (or `npm ci` there). Each
// test gets its own processes on free loopback ports, stopped when it ends.
package emulators

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireEnv, set to 1 (as the Makefile does), makes missing emulators a
// test failure instead of a skip.
const RequireEnv = "IMGRAPH_REQUIRE_EMULATORS"

// startTimeout bounds how long an emulator may take to accept connections:
// node starts in well under a second, but CI machines run many test
// binaries at once.
const startTimeout = 30 * time.Second

// Endpoints are the emulators' URLs.
type Endpoints struct {
	DynamoDB string
	S3       string
}

// Start starts both emulators and points the AWS SDK at them through the
// environment (Env, AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3), so
// code that loads the default AWS configuration talks to them.
func Start(t testing.TB) Endpoints {
	t.Helper()
	Env(t)
	ep := Endpoints{DynamoDB: StartDynamo(t), S3: StartS3(t)}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ep.DynamoDB)
	t.Setenv("AWS_ENDPOINT_URL_S3", ep.S3)
	return ep
}

// Env sets dummy credentials and a region, and hides the user's AWS
// configuration files and the instance metadata service, so a test can
// never reach a real account. dynalite accepts any credentials; s3rver
// checks signatures against the one key pair it knows, S3RVER/S3RVER.
func Env(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "S3RVER",
		"AWS_SECRET_ACCESS_KEY":       "S3RVER",
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	// t.Setenv restores these when the test ends; until then they are unset.
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// StartDynamo starts dynalite, in memory, and returns its endpoint URL.
func StartDynamo(t testing.TB) (endpoint string) {
	t.Helper()
	// Tables are ACTIVE after 100ms rather than dynalite's 500ms: callers
	// still see CREATING and must wait for it, but tests stay quick.
	return start(t, "dynalite", func(port int) []string {
		return []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--createTableMs", "100", "--deleteTableMs", "100", "--updateTableMs", "100"}
	})
}

// StartS3 starts s3rver, keeping its objects in a temporary directory, and
// returns its endpoint URL. Clients must use path-style addressing.
func StartS3(t testing.TB) (endpoint string) {
	t.Helper()
	dir := t.TempDir()
	return start(t, "s3rver", func(port int) []string {
		return []string{"--address", "127.0.0.1", "--port", strconv.Itoa(port), "--directory", dir, "--silent"}
	})
}

// start runs node_modules/.bin/<name> on a free port. Another process may
// take the port between our probe and the emulator's listen, so a start
// that fails because the address is in use is tried again on a new port.
func start(t testing.TB, name string, args func(port int) []string) string {
	t.Helper()
	bin := binary(t, name)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("emulators: finding a free port for %s: %v", name, err)
		}
		p, err := run(bin, args(port))
		if err != nil {
			t.Fatalf("emulators: starting %s: %v", name, err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := p.waitReady(addr, time.Now().Add(startTimeout)); err != nil {
			p.stop()
			lastErr = fmt.Errorf("%s on %s: %w\n%s", name, addr, err, p.output())
			if strings.Contains(p.output(), "EADDRINUSE") {
				continue
			}
			break
		}
		t.Cleanup(p.stop)
		return "http://" + addr
	}
	t.Fatalf("emulators: %v", lastErr)
	return ""
}

// binary finds node_modules/.bin/<name> under internal/emulators in the
// module holding the test's working directory.
func binary(t testing.TB, name string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("emulators: %v", err)
	}
	bin := filepath.Join(root, "internal", "emulators", "node_modules", ".bin", name)
	_, statErr := os.Stat(bin)
	_, nodeErr := exec.LookPath("node")
	if statErr == nil && nodeErr == nil {
		return bin
	}
	msg := fmt.Sprintf("emulators: %s is not installed (%s): run `make test`, which installs the DynamoDB and S3 emulators (or `npm ci` in internal/emulators)", name, bin)
	if nodeErr != nil {
		msg = "emulators: node is not installed: run `make test` on a machine with Node.js and npm, which installs the DynamoDB and S3 emulators"
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// process is a running emulator: its own process group, so stopping it
// also stops anything it started.
type process struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{} // closed once the process has been waited for
	once   sync.Once
}

func run(bin string, args []string) (*process, error) {
	cmd := exec.Command(bin, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady connects to addr until it accepts, the process exits, or the
// deadline passes.
func (p *process) waitReady(addr string, deadline time.Time) error {
	const retry = 20 * time.Millisecond
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %v: %v", startTimeout, err)
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited before accepting connections (%v)", p.cmd.ProcessState)
		case <-time.After(retry):
		}
	}
}

// stop ends the process group, politely first, and waits for the process.
func (p *process) stop() {
	p.once.Do(func() {
		signalGroup(p.cmd, false)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			signalGroup(p.cmd, true)
			<-p.exited
		}
		// The group may hold children that outlived the leader.
		signalGroup(p.cmd, true)
	})
}

func (p *process) output() string { return p.out.String() }

// syncBuffer keeps what an emulator prints, for the message of a failed start.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Only the start of the output is of use; don't let a chatty emulator
	// grow the buffer for the whole test run.
	if room := 64<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
