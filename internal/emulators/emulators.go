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
	"regexp"
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
	for k, v := range hidden(t.TempDir()) {
		t.Setenv(k, v)
	}
	// t.Setenv restores these when the test ends; until then they are unset.
	for _, k := range accountVars {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":     "S3RVER",
		"AWS_SECRET_ACCESS_KEY": "S3RVER",
		"AWS_REGION":            "us-east-1",
		"AWS_DEFAULT_REGION":    "us-east-1",
	} {
		t.Setenv(k, v)
	}
}

// Isolate is for a test binary's TestMain: it leaves the process with no
// AWS account at all (no credentials, no profile, no configuration files
// but the empty ones in dir, no instance metadata service), so what a
// command does without one is the same on every machine, and nothing
// reaches beyond the loopback. Tests that want AWS set it up themselves.
func Isolate(dir string) {
	for k, v := range hidden(dir) {
		os.Setenv(k, v)
	}
	for _, k := range accountVars {
		os.Unsetenv(k)
	}
}

// accountVars are the variables through which the AWS SDK finds an
// account, a region or an endpoint.
var accountVars = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
	"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_SSM",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI"}

// hidden points the AWS configuration files into dir, where there are
// none, and turns the instance metadata service off.
func hidden(dir string) map[string]string {
	return map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
}

// StartDynamo starts dynalite, in memory, and returns its endpoint URL.
func StartDynamo(t testing.TB) (endpoint string) {
	t.Helper()
	return start(t, dynalite)
}

// StartS3 starts s3rver, keeping its objects in a temporary directory, and
// returns its endpoint URL. Clients must use path-style addressing.
func StartS3(t testing.TB) (endpoint string) {
	t.Helper()
	return start(t, s3rver(t.TempDir()))
}

// An emulator is a program under node_modules/.bin and how to run it.
type emulator struct {
	name string
	args func(port int) []string
	// listening matches the line the emulator prints once it listens,
	// with the port as its group. Waiting for that line, rather than for
	// the port to answer, proves that the port is ours: another process
	// may have taken it between our probe and the emulator's listen.
	listening *regexp.Regexp
	// ownPort: given port 0, the emulator listens on a port of its
	// choosing, and no other process can take it first.
	ownPort bool
}

// dynalite's tables are ACTIVE after 100ms rather than its 500ms: callers
// still see CREATING and must wait for it, but tests stay quick. Port 0
// means its default, 4567, to dynalite, so it is given a free port.
var dynalite = emulator{
	name: "dynalite",
	args: func(port int) []string {
		return []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--createTableMs", "100", "--deleteTableMs", "100", "--updateTableMs", "100"}
	},
	listening: regexp.MustCompile(`Dynalite listening at: http://127\.0\.0\.1:(\d+)`),
}

func s3rver(dir string) emulator {
	return emulator{
		name: "s3rver",
		args: func(port int) []string {
			return []string{"--address", "127.0.0.1", "--port", strconv.Itoa(port), "--directory", dir, "--silent"}
		},
		listening: regexp.MustCompile(`S3rver listening on 127\.0\.0\.1:(\d+)`),
		ownPort:   true,
	}
}

// start runs the emulator and returns its URL once it listens. An
// emulator given a free port may find it taken by the time it listens:
// such a start is tried again on a new port.
func start(t testing.TB, e emulator) string {
	t.Helper()
	bin := binary(t, e.name)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := 0
		if !e.ownPort {
			var err error
			if port, err = freePort(); err != nil {
				t.Fatalf("emulators: finding a free port for %s: %v", e.name, err)
			}
		}
		p, err := run(bin, e.args(port), e.listening)
		if err != nil {
			t.Fatalf("emulators: starting %s: %v", e.name, err)
		}
		port, err = p.waitListening(startTimeout)
		if err != nil {
			p.stop()
			lastErr = fmt.Errorf("%s: %w\n%s", e.name, err, p.output())
			if strings.Contains(p.output(), "EADDRINUSE") && !e.ownPort {
				continue
			}
			break
		}
		t.Cleanup(p.stop)
		return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
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
	out    *output
	exited chan struct{} // closed once the process has been waited for
	once   sync.Once
}

// run starts bin; listening matches the line it prints once it listens.
func run(bin string, args []string, listening *regexp.Regexp) (*process, error) {
	cmd := exec.Command(bin, args...)
	out := &output{listening: listening, port: make(chan int, 1)}
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

// waitListening waits for the process to say it listens, and returns the
// port it names.
func (p *process) waitListening(timeout time.Duration) (int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case port := <-p.out.port:
		return port, nil
	case <-p.exited:
		return 0, fmt.Errorf("exited before listening (%v)", p.cmd.ProcessState)
	case <-timer.C:
		return 0, fmt.Errorf("not listening after %v", timeout)
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

// output keeps what an emulator prints, for the message of a failed start,
// and watches it for the line that says the emulator listens.
type output struct {
	listening *regexp.Regexp
	port      chan int // receives the port once

	mu    sync.Mutex
	buf   bytes.Buffer
	found bool
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	// Only the start of the output is of use; don't let a chatty emulator
	// grow the buffer for the whole test run.
	if room := 64<<10 - o.buf.Len(); room > 0 {
		o.buf.Write(p[:min(len(p), room)])
	}
	if !o.found {
		if m := o.listening.FindSubmatch(o.buf.Bytes()); m != nil {
			o.found = true
			port, _ := strconv.Atoi(string(m[1]))
			o.port <- port
		}
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
