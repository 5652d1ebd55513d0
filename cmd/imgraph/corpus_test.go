package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/imgraph/imgraph/internal/hostile"
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
		{name: "a server that never answers", setup: artifactFrom(hostile.Silent),
			args: []string{"build", "--download-stall", "300ms", "--download-attempts", "1"}, code: exitBakeFailed, msg: `nothing received for 300ms`},
		{name: "a server that sends for ever", setup: artifactFrom(hostile.Endless),
			args: []string{"build", "--download-timeout", "300ms"}, code: exitBakeFailed, msg: `not done after 300ms`},
		{name: "a server that fails", setup: artifactFrom(hostile.Answer("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")),
			args: []string{"build", "--download-attempts", "1"}, code: exitBakeFailed, msg: `500 Internal Server Error`},
		{name: "a server that sends other content", setup: artifactFrom(hostile.Answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!")),
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
		addr := hostile.Serve(t, serve)
		os.RemoveAll(filepath.Join(ws.root, "base", "rootfs"))
		testrootfs.At(t, filepath.Join(ws.root, "base", "rootfs"))
		writeFiles(t, ws.root, map[string]string{"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"),
    artifacts = {"app": artifact(url = "http://` + addr + `/app.jar", sha256 = "` + strings.Repeat("a", 64) + `")})
`})
		return nil
	}
}
