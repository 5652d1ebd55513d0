package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/imgraph/imgraph/internal/testrootfs"
)

// A corpus of bad input beyond the golden cases: special files, loops,
// hostile artifact servers on the loopback, damaged caches and lock
// files. Each runs imgraph as a process, bounded, and must end with its
// exit code (2 for bad input; 1 where a bake truly failed; 0 where the
// damage is only worth a warning), one clear message, no stack trace, and
// IMAGES.lock and the cache's records as they were.
func TestBadInputCorpus(t *testing.T) {
	base := `image(name = "base", source = rootfs(path = "rootfs")`
	for _, tc := range []struct {
		name  string
		files map[string]string                              // besides the workspace and base/rootfs/
		setup func(t *testing.T, ws *testWorkspace) []string // more arguments
		args  []string
		code  int
		msg   string
	}{
		// Special files: refused at once, never read.
		{name: "script is a named pipe", files: map[string]string{"base/IMAGES.star": base + `, provision = [shell(script = "fifo")])`},
			setup: mkfifo("base/fifo"), args: []string{"plan"}, code: exitBadInput, msg: `script //base:fifo is a named pipe, not a file`},
		{name: "copy src is a named pipe", files: map[string]string{"base/IMAGES.star": base + `, provision = [copy(src = "fifo", dest = "/x")])`},
			setup: mkfifo("base/fifo"), args: []string{"plan"}, code: exitBadInput, msg: `copy src //base:fifo is a named pipe`},
		{name: "rootfs is a named pipe", files: map[string]string{"base/IMAGES.star": `image(name = "base", source = rootfs(path = "fifo"))`},
			setup: mkfifo("base/fifo"), args: []string{"plan"}, code: exitBadInput, msg: `rootfs //base:fifo is a named pipe`},
		{name: "script is a device", files: map[string]string{"base/IMAGES.star": base + `, provision = [shell(script = "zero")])`},
			setup: symlink("/dev/zero", "base/zero"), args: []string{"plan"}, code: exitBadInput, msg: `script //base:zero is a character device`},
		{name: "IMAGES.star is a named pipe", setup: mkfifo("apps/IMAGES.star"),
			args: []string{"plan"}, code: exitBadInput, msg: `apps/IMAGES.star: is a named pipe, not a file`},
		{name: "IMAGES.lock is a named pipe", setup: mkfifo("IMAGES.lock"),
			args: []string{"plan"}, code: exitBadInput, msg: `IMAGES.lock: cannot read it: is a named pipe, not a file`},
		{name: "a loaded file is a named pipe", files: map[string]string{"base/IMAGES.star": `load("//lib:defs.star", "X")` + "\n" + base + `)`, "lib/IMAGES.star": ""},
			setup: mkfifo("lib/defs.star"), args: []string{"plan"}, code: exitBadInput, msg: `is a named pipe, not a file`},
		{name: "IMAGES.star is a loop of links", setup: symlink("IMAGES.star", "apps/IMAGES.star"),
			args: []string{"plan"}, code: exitBadInput, msg: `apps/IMAGES.star: too many levels of symbolic links`},
		{name: "a file:// artifact is a named pipe", files: map[string]string{
			"base/IMAGES.star": base + `, artifacts = {"app": artifact(url = "file://fifo", sha256 = "` + strings.Repeat("a", 64) + `")})`},
			setup: mkfifo("fifo"), args: []string{"build"}, code: exitBakeFailed, msg: `not a regular file`},

		// Loops.
		{name: "a loop that never ends", files: map[string]string{"base/IMAGES.star": "def f():\n    while True:\n        pass\nf()\n"},
			args: []string{"plan"}, code: exitBadInput, msg: `ran for more than 100000000 Starlark steps`},
		{name: "recursion", files: map[string]string{"base/IMAGES.star": "def f():\n    return f()\nf()\n"},
			args: []string{"plan"}, code: exitBadInput, msg: `called recursively`},
		{name: "a load cycle", files: map[string]string{"base/IMAGES.star": `load("//lib:a.star", "A")` + "\n", "lib/IMAGES.star": "",
			"lib/a.star": `load(":b.star", "B")` + "\nA = 1\n", "lib/b.star": `load(":a.star", "A")` + "\nB = 1\n"},
			args: []string{"plan"}, code: exitBadInput, msg: `load cycle`},

		// Hostile artifact servers on the loopback: the bake fails, bounded.
		{name: "a server that never answers", setup: artifactFrom(func(c net.Conn) {}),
			args: []string{"build", "--download-stall", "300ms"}, code: exitBakeFailed, msg: `nothing received for 300ms`},
		{name: "a server that sends for ever", setup: artifactFrom(endless),
			args: []string{"build", "--download-timeout", "300ms"}, code: exitBakeFailed, msg: `not done after 300ms`},
		{name: "a server that fails", setup: artifactFrom(answer("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")),
			args: []string{"build"}, code: exitBakeFailed, msg: `500 Internal Server Error`},
		{name: "a server that sends other content", setup: artifactFrom(answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!")),
			args: []string{"build"}, code: exitBakeFailed, msg: `sha256 is`},

		// Damaged lock files and caches.
		{name: "lock is not JSON", files: map[string]string{"IMAGES.lock": "{not json"},
			args: []string{"plan"}, code: exitBadInput, msg: `IMAGES.lock: not a lock file`},
		{name: "lock names a source twice", files: map[string]string{"IMAGES.lock": `{"version": 1, "sources": [
  {"source": "ssm_parameter(name = \"/a\")", "region": "us-east-1", "id": "ami-0123456789abcdef0"},
  {"source": "ssm_parameter(name = \"/a\")", "region": "us-east-1", "id": "ami-0123456789abcdef1"}]}`},
			args: []string{"plan"}, code: exitBadInput, msg: `is locked twice`},
		{name: "lock has trailing data", files: map[string]string{"IMAGES.lock": `{"version": 1, "sources": []}` + "\n}\n"},
			args: []string{"plan"}, code: exitBadInput, msg: `more after the lock's closing brace`},
		{name: "lock of another version", files: map[string]string{"IMAGES.lock": `{"version": 9, "sources": []}`},
			args: []string{"plan"}, code: exitBadInput, msg: `version 9`},
		{name: "cache's records is a file", setup: func(t *testing.T, ws *testWorkspace) []string {
			writeFiles(t, ws.cache, map[string]string{"records": "x"})
			return nil
		}, args: []string{"plan"}, code: exitBadInput, msg: `records: not a directory`},
		{name: "a corrupt cache record", setup: func(t *testing.T, ws *testWorkspace) []string {
			if r := ws.imgraph(t, nil, "build"); r.code != exitOK {
				t.Fatalf("build: %v", r)
			}
			records, _ := filepath.Glob(filepath.Join(ws.cache, "records", "*", "*.json"))
			for _, r := range records {
				writeFiles(t, filepath.Dir(r), map[string]string{filepath.Base(r): "{corrupt"})
			}
			return nil
		}, args: []string{"plan"}, code: exitOK, msg: `warning: cache: ignoring corrupt record`},
		{name: "--cache names a file", files: map[string]string{"notadir": ""},
			args: []string{"plan", "--cache", "notadir"}, code: exitBadInput, msg: `notadir: not a directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := newWorkspace(t, map[string]string{"base/IMAGES.star": base + ")\n"})
			writeFiles(t, ws.root, tc.files)
			args := tc.args
			if tc.setup != nil {
				args = append(args, tc.setup(t, ws)...)
			}
			before := fingerprint(t, ws)
			r := ws.start(t, nil, args...).wait(t)
			if r.code != tc.code {
				t.Fatalf("exit code %d, want %d\n%v", r.code, tc.code, r)
			}
			if !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr does not say %q:\n%s", tc.msg, r.stderr)
			}
			if n := strings.Count(r.stderr, "error: "); tc.code == exitBadInput && n != 1 {
				t.Errorf("%d error messages, want one:\n%s", n, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("a stack trace:\n%s", r.stderr)
			}
			if after := fingerprint(t, ws); after != before {
				t.Errorf("IMAGES.lock or the cache's records changed:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

// fingerprint is what must not change: IMAGES.lock, and the records and
// labels of the cache.
func fingerprint(t *testing.T, ws *testWorkspace) string {
	t.Helper()
	var b strings.Builder
	add := func(name string) {
		info, err := os.Lstat(name)
		if err != nil || !info.Mode().IsRegular() {
			fmt.Fprintf(&b, "%s: %v %v\n", name, err, info != nil && info.Mode().IsRegular())
			return
		}
		data, _ := os.ReadFile(name)
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s %s\n", name, hex.EncodeToString(sum[:8]))
	}
	add(filepath.Join(ws.root, "IMAGES.lock"))
	for _, dir := range []string{"records", "labels"} {
		filepath.WalkDir(filepath.Join(ws.cache, dir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				add(p)
			}
			return nil
		})
	}
	return b.String()
}

func mkfifo(name string) func(t *testing.T, ws *testWorkspace) []string {
	return func(t *testing.T, ws *testWorkspace) []string {
		p := filepath.Join(ws.root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		return nil
	}
}

func symlink(target, name string) func(t *testing.T, ws *testWorkspace) []string {
	return func(t *testing.T, ws *testWorkspace) []string {
		p := filepath.Join(ws.root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return nil
	}
}

// artifactFrom serves an artifact of //base:base from a hostile server on
// the loopback that answers each connection with serve, and gives base a
// real root filesystem, so that the bake gets as far as the download.
func artifactFrom(serve func(c net.Conn)) func(t *testing.T, ws *testWorkspace) []string {
	return func(t *testing.T, ws *testWorkspace) []string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		t.Cleanup(func() {
			close(done)
			ln.Close()
			wg.Wait()
		})
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					defer c.Close()
					serve(c)
					<-done
				})
			}
		})
		os.RemoveAll(filepath.Join(ws.root, "base", "rootfs"))
		testrootfs.At(t, filepath.Join(ws.root, "base", "rootfs"))
		writeFiles(t, ws.root, map[string]string{"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"),
    artifacts = {"app": artifact(url = "http://` + ln.Addr().String() + `/app.jar", sha256 = "` + strings.Repeat("a", 64) + `")})
`})
		return nil
	}
}

// answer is a server that reads the request and writes reply.
func answer(reply string) func(c net.Conn) {
	return func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			io.WriteString(c, reply)
		}
	}
}

// endless is a server that answers and sends for ever.
func endless(c net.Conn) {
	if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
		return
	}
	io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
	chunk := make([]byte, 64<<10)
	for {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// What only a user without root meets: what cannot be read or written.
// imgraph runs as nobody, on a workspace nobody may read but for the
// parts each case takes away.
func TestBadInputOfPermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs imgraph as another user, which takes root")
	}
	const nobody = 65534
	exe := copyOfThisBinary(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root, cache string)
		args  []string
		msg   string
	}{
		{"a package directory that cannot be read", func(t *testing.T, root, cache string) {
			mkdirMode(t, filepath.Join(root, "secret", "pkg"), 0o755)
			writeFiles(t, filepath.Join(root, "secret", "pkg"), map[string]string{"IMAGES.star": ""})
			chmodPath(t, filepath.Join(root, "secret"), 0o700)
		}, []string{"plan"}, `secret: cannot read this directory: permission denied`},
		{"an IMAGES.star that cannot be read", func(t *testing.T, root, cache string) {
			writeFiles(t, root, map[string]string{"apps/IMAGES.star": ""})
			chmodPath(t, filepath.Join(root, "apps", "IMAGES.star"), 0o600)
		}, []string{"plan"}, `apps/IMAGES.star: permission denied`},
		{"a script that cannot be read", func(t *testing.T, root, cache string) {
			writeFiles(t, root, map[string]string{
				"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"), provision = [shell(script = "x.sh")])`,
				"base/x.sh":        "true\n"})
			chmodPath(t, filepath.Join(root, "base", "x.sh"), 0o600)
		}, []string{"plan"}, `cannot read //base:x.sh: open`},
		{"a cache directory that cannot be written", func(t *testing.T, root, cache string) {
			chmodPath(t, cache, 0o755)
		}, []string{"plan"}, `cannot be used: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root, cache := worldReadableDir(t), worldReadableDir(t)
			chmodPath(t, cache, 0o777)
			writeFiles(t, root, map[string]string{
				"IMAGES.star":      `workspace(name = "t", platform = "local")` + "\n",
				"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"))` + "\n",
			})
			mkdirMode(t, filepath.Join(root, "base", "rootfs"), 0o755)
			chmodTree(t, root)
			tc.setup(t, root, cache)
			cmd := exec.Command(exe, append([]string{"--cache", filepath.Join(cache, "c")}, tc.args...)...)
			cmd.Dir = root
			cmd.Env = []string{asCLIEnv + "=1", "HOME=/nonexistent", "PATH=/usr/bin:/bin", "GORACE=atexit_sleep_ms=0"}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if code != exitBadInput || !strings.Contains(stderr.String(), tc.msg) || strings.Count(stderr.String(), "error: ") != 1 {
				t.Errorf("exit %d (%v), want 2 saying %q:\n%s", code, err, tc.msg, stderr.String())
			}
		})
	}
}

// copyOfThisBinary is this test binary where any user may run it.
func copyOfThisBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(worldReadableDir(t), "imgraph")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// worldReadableDir is a new directory every user may enter, removed when
// the test ends.
func worldReadableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "imgraph-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	chmodPath(t, dir, 0o755)
	return dir
}

func mkdirMode(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func chmodPath(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// chmodTree lets every user read what is under root.
func chmodTree(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			mode := os.FileMode(0o644)
			if d.IsDir() {
				mode = 0o755
			}
			os.Chmod(p, mode)
		}
		return nil
	})
}
