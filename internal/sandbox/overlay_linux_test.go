package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

// A step on an overlay writes only its changes to the upper directory,
// whiteouts and opaque directories included, and leaves no mount; the
// upper directory applied on a copy of the layer below gives what the
// step saw: contents, modes, owners, links, symlinks and attributes.
func TestOverlayStepAndApplyLayer(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	if err := sb.Overlays(); err != nil {
		t.Fatalf("overlays are not available here: %v", err)
	}
	lower := testrootfs.New(t)
	for name, body := range map[string]string{"keep": "keep\n", "gone": "gone\n", "dir/x": "x\n", "dir/y": "y\n", "mod": "old\n", "owned": "owned\n"} {
		p := filepath.Join(lower, "data", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Setxattr(filepath.Join(lower, "data", "mod"), "user.colour", []byte("red"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(lower, "data", "owned"), 1234, 5678); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	ov := &sandbox.Overlay{Lower: []string{lower}, Upper: filepath.Join(base, "upper"), Work: filepath.Join(base, "work")}
	root := filepath.Join(base, "root")
	for _, d := range []string{ov.Upper, ov.Work, root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := strings.Join([]string{
		"rm /data/gone", "rm -r /data/dir", "mkdir /data/dir", "echo z > /data/dir/z",
		"echo new >> /data/mod", "echo h > /data/h1", "ln /data/h1 /data/h2", "ln -s keep /data/link", "chmod 0600 /data/owned",
	}, " && ")
	var out strings.Builder
	step := &sandbox.Step{Root: root, Overlay: ov, Mounts: true, Argv: []string{"/bin/sh", "-c", script}, Env: []string{"PATH=/bin:/sbin"}}
	if err := sb.Run(context.Background(), step, nil, &out, &out); err != nil {
		t.Fatalf("the step: %v\n%s", err, out.String())
	}
	if mounts, err := os.ReadFile("/proc/mounts"); err != nil || strings.Contains(string(mounts), root) {
		t.Errorf("the overlay outlived its step (%v):\n%s", err, mounts)
	}
	if !sandbox.IsWhiteout(filepath.Join(ov.Upper, "data", "gone")) || !sandbox.IsOpaque(filepath.Join(ov.Upper, "data", "dir")) {
		t.Error("the upper directory lacks the deleted file's whiteout or the recreated directory's opaque mark")
	}
	if _, err := os.Lstat(filepath.Join(ov.Upper, "data", "keep")); err == nil {
		t.Error("a file the step never touched is in the upper directory")
	}

	flat := filepath.Join(t.TempDir(), "flat")
	if err := sb.CopyTree(context.Background(), lower, flat, nil); err != nil {
		t.Fatal(err)
	}
	if err := sb.ApplyLayer(context.Background(), ov.Upper, flat, nil); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		data, _ := os.ReadFile(filepath.Join(flat, "data", name))
		return string(data)
	}
	if read("keep") != "keep\n" || read("mod") != "old\nnew\n" || read("dir/z") != "z\n" || read("h1") != "h\n" {
		t.Errorf("applied: keep %q, mod %q, dir/z %q, h1 %q", read("keep"), read("mod"), read("dir/z"), read("h1"))
	}
	for _, gone := range []string{"gone", "dir/x", "dir/y"} {
		if _, err := os.Lstat(filepath.Join(flat, "data", gone)); err == nil {
			t.Errorf("/data/%s survived the layer that removed it", gone)
		}
	}
	var h1, h2, owned unix.Stat_t
	unix.Lstat(filepath.Join(flat, "data", "h1"), &h1)
	unix.Lstat(filepath.Join(flat, "data", "h2"), &h2)
	unix.Lstat(filepath.Join(flat, "data", "owned"), &owned)
	if h1.Ino != h2.Ino || h1.Nlink != 2 {
		t.Error("a hard link of the layer became a copy")
	}
	if owned.Mode&0o7777 != 0o600 || owned.Uid != 1234 || owned.Gid != 5678 {
		t.Errorf("/data/owned: mode %o, owner %d:%d; want 600, 1234:5678", owned.Mode&0o7777, owned.Uid, owned.Gid)
	}
	if target, err := os.Readlink(filepath.Join(flat, "data", "link")); err != nil || target != "keep" {
		t.Errorf("/data/link -> %q (%v)", target, err)
	}
	buf := make([]byte, 16)
	if n, err := unix.Getxattr(filepath.Join(flat, "data", "mod"), "user.colour", buf); err != nil || string(buf[:n]) != "red" {
		t.Errorf("user.colour of a file copied up: %q, %v", buf[:n], err)
	}
	if _, err := unix.Getxattr(filepath.Join(flat, "data", "dir"), "trusted.overlay.opaque", buf); err != syscall.ENODATA {
		t.Errorf("the flattened tree kept overlayfs's mark: %v", err)
	}
}
