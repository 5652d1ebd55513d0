//go:build linux

package local_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// A step runs as PID 1 of its own PID namespace, with its own hostname, a
// /proc of its own, the few devices it needs, and no view of the host's
// files.
func TestIsolation(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	hostFile := filepath.Join(t.TempDir(), "host-only")
	writeFile(t, hostFile, "host\n", 0o644)
	// A host directory imgraph holds open without close-on-exec (as it
	// may inherit one) must not reach the step: it would lead out of the
	// chroot.
	leak, err := syscall.Open(filepath.Dir(hostFile), syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak)
	hostName, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	id, log := bakeOK(t, b, rootJob(image("isolated", inline(
		"mkdir /out",
		"hostname > /out/hostname",
		"echo $$ > /out/pid",
		"ls /proc | grep -c '^[0-9]' > /out/processes",
		"cat /proc/1/cmdline | tr '\\0' ' ' > /out/init",
		fmt.Sprintf("if [ -e %s ]; then echo visible; else echo hidden; fi > /out/host", hostFile),
		"echo discarded > /dev/null && head -c 4 /dev/zero | wc -c > /out/zero",
		// No redirection: the shell holds its own descriptors only.
		"echo fds:; ls /proc/1/fd; echo :fds",
	)), testrootfs.New(t)))

	if got := imageFile(t, b, id, "out/hostname"); got != "imgraph\n" {
		t.Errorf("hostname = %q, want imgraph", got)
	}
	if after, _ := os.Hostname(); after != hostName {
		t.Errorf("the host's hostname changed from %q to %q", hostName, after)
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(imageFile(t, b, id, "out/pid"))); err != nil || pid > 10 {
		t.Errorf("the step's $$ = %d (%v), want 1 or a small pid of its own namespace", pid, err)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(imageFile(t, b, id, "out/processes"))); err != nil || n == 0 || n > 10 {
		t.Errorf("/proc lists %d processes (%v), want the step's few", n, err)
	}
	if got := imageFile(t, b, id, "out/init"); !strings.HasPrefix(got, "/bin/sh ") {
		t.Errorf("PID 1 is %q, want the step's shell", got)
	}
	if got := imageFile(t, b, id, "out/host"); got != "hidden\n" {
		t.Errorf("the host's %s is %s inside the step", hostFile, strings.TrimSpace(got))
	}
	// A descriptor of the host's (a directory above the chroot) would be a
	// way out; the step's shell holds its standard streams only.
	_, fds, _ := strings.Cut(log, "fds:\n")
	fds, _, _ = strings.Cut(fds, ":fds")
	if got := strings.Fields(fds); strings.Join(got, " ") != "0 1 2" {
		t.Errorf("the step's shell holds descriptors %q, want 0 1 2", got)
	}
	if got := imageFile(t, b, id, "out/zero"); strings.TrimSpace(got) != "4" {
		t.Errorf("/dev/zero gave %q bytes", got)
	}
	// The mounts lived in the step's mount namespace only.
	if m := mountsUnder(t, store.Dir()); len(m) > 0 {
		t.Errorf("mounts left under the cache: %v", m)
	}
	for _, d := range []string{"proc", "dev"} {
		entries, _ := os.ReadDir(filepath.Join(b.ImageDir(id), d))
		if len(entries) > 0 {
			t.Errorf("the image's /%s holds %d entries, want an empty mount point", d, len(entries))
		}
	}
}

// A symlink an image holds can never turn a write of the bake into a write
// on the host: a child's copy() through /tmp/evil -> / lands in the image.
func TestSymlinkEscape(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	ws := newWorkspace(t)
	name := "imgraph-pwned-" + newKey()[:12]
	hostPaths := []string{"/etc/" + name, "/opt/" + name}
	t.Cleanup(func() {
		for _, p := range hostPaths {
			os.RemoveAll(p)
		}
	})
	parent, _ := bakeOK(t, b, rootJob(image("parent", inline("ln -s / /tmp/evil", "mkdir -p /etc /opt")), testrootfs.New(t)))
	payload := ws.file("payload", "payload\n", 0o644)
	ws.file("tree/inner/file", "inner\n", 0o644)
	tree := &rules.File{Label: label.Label{Pkg: "t", Name: "tree"}, Path: filepath.Join(ws.dir, "tree")}
	child, _ := bakeOK(t, b, childJob(image("child",
		copyTo(payload, "/tmp/evil/etc/"+name, "0644"),
		copyTo(tree, "/tmp/evil/opt/"+name, ""),
	), parent))

	for _, p := range hostPaths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("the bake wrote %s on the host", p)
		}
	}
	if got := imageFile(t, b, child, "etc/"+name); got != "payload\n" {
		t.Errorf("image's /etc/%s = %q, want the payload", name, got)
	}
	if got := imageFile(t, b, child, "opt/"+name+"/inner/file"); got != "inner\n" {
		t.Errorf("image's /opt/%s/inner/file = %q", name, got)
	}
	if target, err := os.Readlink(filepath.Join(imageTree(t, b, child), "tmp", "evil")); err != nil || target != "/" {
		t.Errorf("child's /tmp/evil -> %q, %v; want the parent's symlink, copied as a symlink", target, err)
	}
	if _, err := os.Lstat(filepath.Join(b.ImageDir(parent), "etc", name)); err == nil {
		t.Errorf("the child's copy landed in the parent's tree")
	}
}

// Cancelling a bake in the middle of a step kills every process the step
// started, leaves no temporary tree and no mount, and returns ctx.Err().
func TestCancel(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	ws := newWorkspace(t)
	// A sleep of a length no other process asks for, in a script of a
	// name no other holds: every process of the step holds one of them.
	n, _ := strconv.ParseUint(newKey()[:6], 16, 32)
	seconds := strconv.FormatUint(86400+n, 10)
	markers := []string{"sleep\x00" + seconds, "cancel-" + seconds + ".sh"}
	script := ws.script("cancel-"+seconds+".sh", "sleep "+seconds+" &\necho started\nwait\n")

	pr, pw := io.Pipe()
	started := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			if sc.Text() == "started" && !once {
				once = true
				close(started)
			}
		}
		io.Copy(io.Discard, pr)
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := rootJob(image("cancelled", script), testrootfs.New(t))
	job.Log = pw
	done := make(chan error, 1)
	go func() {
		_, err := b.Bake(ctx, job)
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Bake returned before the step started: %v", err)
	}
	// The sleep may not have been exec'd yet; until it is, its process
	// is a fork of the script's shell and holds the script's name.
	if procs := processesWith(t, markers[1]); len(procs) == 0 {
		t.Fatalf("no process runs the script while the step runs: the check below would prove nothing")
	}
	cancel()
	err := <-done
	pw.Close()
	<-drained
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Bake = %v, want context.Canceled", err)
	}
	for _, m := range markers {
		if procs := processesWith(t, m); len(procs) > 0 {
			t.Errorf("processes left after cancellation: %v", procs)
		}
	}
	if left := leftovers(t, store); len(left) > 0 {
		t.Errorf("temporary trees left: %v", left)
	}
	if m := mountsUnder(t, store.Dir()); len(m) > 0 {
		t.Errorf("mounts left under the cache: %v", m)
	}
	ref := bake.ImageRef{Key: job.Key, Region: "local", ID: job.Key}
	if exist, _ := b.Exist(context.Background(), []bake.ImageRef{ref}); exist[ref] {
		t.Errorf("a cancelled bake left an image")
	}
}

// processesWith lists the processes whose command line contains s.
func processesWith(t *testing.T, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // it exited while we looked
		}
		if strings.Contains(string(cmdline), s) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return found
}

// mountsUnder lists this process's mounts at or below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			found = append(found, fields[4])
		}
	}
	return found
}
