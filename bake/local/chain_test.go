//go:build linux

package local_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imgraph/imgraph/internal/testrootfs"
)

// A grandchild sees what its grandparent's script wrote, and no child
// changes its parent's tree, whatever its script deletes or rewrites.
func TestChain(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	ws := newWorkspace(t)

	base, _ := bakeOK(t, b, rootJob(image("base",
		ws.script("base.sh", "echo 'from base' > /etc/grandparent\necho scratch > /etc/scratch\n"),
	), testrootfs.New(t)))

	baseBefore := treeHash(t, b.ImageDir(base))
	mid, _ := bakeOK(t, b, childJob(image("mid",
		ws.script("mid.sh", strings.Join([]string{
			`test "$(cat /etc/grandparent)" = "from base"`,
			"echo mid > /etc/mid",
			"echo 'intruder:x:0:0::/:/bin/sh' >> /etc/passwd",
			"rm /etc/scratch /bin/vi",
			"chmod 0700 /tmp",
			"chmod u+s /bin/busybox",
		}, "\n")),
	), base))
	if after := treeHash(t, b.ImageDir(base)); after != baseBefore {
		t.Fatalf("baking the child changed the parent's tree")
	}
	if got := imageFile(t, b, mid, "etc/passwd"); !strings.Contains(got, "intruder") {
		t.Fatalf("child's /etc/passwd = %q, want the line its script appended", got)
	}

	midBefore := treeHash(t, b.ImageDir(mid))
	leaf, _ := bakeOK(t, b, childJob(image("leaf",
		inline("cat /etc/grandparent /etc/mid > /seen", "rm -rf /etc"),
	), mid))
	if after := treeHash(t, b.ImageDir(mid)); after != midBefore {
		t.Fatalf("baking the grandchild changed its parent's tree")
	}
	if after := treeHash(t, b.ImageDir(base)); after != baseBefore {
		t.Fatalf("baking the grandchild changed its grandparent's tree")
	}
	if got, want := imageFile(t, b, leaf, "seen"), "from base\nmid\n"; got != want {
		t.Errorf("grandchild saw %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(imageTree(t, b, leaf), "etc")); !os.IsNotExist(err) {
		t.Errorf("grandchild's /etc: %v, want it removed", err)
	}
}

// A tree copied from a root filesystem or a parent keeps everything:
// setuid and sticky bits, ownership, symlinks as symlinks (never followed),
// hard links, fifos.
func TestCopyKeepsMetadata(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("ownership is copied only by root")
	}
	rootfs := testrootfs.New(t)
	writeFile(t, filepath.Join(rootfs, "bin", "su-like"), "#!/bin/sh\n", 0o755|fs.ModeSetuid)
	mustMkdir(t, filepath.Join(rootfs, "srv", "shared"), 0o755)
	chmod(t, filepath.Join(rootfs, "srv", "shared"), 0o1777)
	writeFile(t, filepath.Join(rootfs, "srv", "owned"), "owned\n", 0o640)
	if err := os.Lchown(filepath.Join(rootfs, "srv", "owned"), 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(rootfs, "srv", "owned"), filepath.Join(rootfs, "srv", "owned-link")); err != nil {
		t.Fatal(err)
	}
	// Followed, these would copy the host's files into the image.
	if err := os.Symlink("/etc/hostname", filepath.Join(rootfs, "etc", "host-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(rootfs, "srv", "root-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(rootfs, "srv", "root-link"), 42, 43); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(rootfs, "srv", "fifo"), 0o620); err != nil {
		t.Fatal(err)
	}

	b, _ := newBaker(t)
	base, _ := bakeOK(t, b, rootJob(image("base"), rootfs))
	child, _ := bakeOK(t, b, childJob(image("child"), base))
	want := treeHash(t, rootfs)
	for name, id := range map[string]string{"root image": base, "child": child} {
		dir := imageTree(t, b, id)
		if got := treeHash(t, dir); got != want {
			t.Errorf("%s: the tree differs from the root filesystem it was copied from", name)
		}
		a, c := lstat(t, filepath.Join(dir, "srv", "owned")), lstat(t, filepath.Join(dir, "srv", "owned-link"))
		if a.Ino != c.Ino {
			t.Errorf("%s: /srv/owned and /srv/owned-link are no longer one file", name)
		}
	}
}

// A root filesystem may be a .tar or a .tar.gz; whatever names and links
// the archive holds, everything lands inside the image.
func TestRootfsTarball(t *testing.T) {
	t.Parallel()
	escape := "imgraph-escape-" + newKey()[:12]
	t.Cleanup(func() { os.Remove("/" + escape) })
	for _, compressed := range []bool{false, true} {
		name := "rootfs.tar"
		if compressed {
			name = "rootfs.tar.gz"
		}
		t.Run(name, func(t *testing.T) {
			rootfs := testrootfs.New(t)
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			writeTree(t, tw, rootfs)
			mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
			entries := []*tar.Header{
				{Typeflag: tar.TypeDir, Name: "opt/", Mode: 0o755, ModTime: mtime},
				{Typeflag: tar.TypeReg, Name: "opt/tool", Mode: 0o4755, Uid: 1234, Gid: 5678, Size: 5, ModTime: mtime},
				{Typeflag: tar.TypeLink, Name: "opt/tool-link", Linkname: "opt/tool"},
				{Typeflag: tar.TypeSymlink, Name: "opt/abs", Linkname: "/etc/passwd", ModTime: mtime},
				// Outside the root, or through a symlink to "/": both must
				// stay inside the image.
				{Typeflag: tar.TypeReg, Name: "../../" + escape + "-dots", Mode: 0o644, Size: 5},
				{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: "/"},
				{Typeflag: tar.TypeReg, Name: "evil/" + escape, Mode: 0o644, Size: 5},
			}
			for _, h := range entries {
				if err := tw.WriteHeader(h); err != nil {
					t.Fatal(err)
				}
				if h.Size > 0 {
					tw.Write([]byte("data\n"))
				}
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			if compressed {
				var gz bytes.Buffer
				zw := gzip.NewWriter(&gz)
				zw.Write(data)
				zw.Close()
				data = gz.Bytes()
			}
			archive := filepath.Join(t.TempDir(), name)
			writeFile(t, archive, string(data), 0o644)

			b, _ := newBaker(t)
			id, _ := bakeOK(t, b, rootJob(image("fromtar",
				inline("test -x /opt/tool", `[ "$(cat /opt/abs | head -1)" = "root:x:0:0:root:/root:/bin/sh" ]`, "echo baked > /etc/baked"),
			), archive))
			dir := b.ImageDir(id)
			if got := imageFile(t, b, id, "etc/baked"); got != "baked\n" {
				t.Errorf("/etc/baked = %q", got)
			}
			for _, p := range []string{"/" + escape, "/" + escape + "-dots"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("the archive wrote %s on the host", p)
				}
				if got := imageFile(t, b, id, p); got != "data\n" {
					t.Errorf("image's %s = %q, want the archive's", p, got)
				}
			}
			tool := lstat(t, filepath.Join(dir, "opt", "tool"))
			if tool.Mode&0o7777 != 0o4755 {
				t.Errorf("/opt/tool mode = %o, want 4755", tool.Mode&0o7777)
			}
			if os.Geteuid() == 0 && (tool.Uid != 1234 || tool.Gid != 5678) {
				t.Errorf("/opt/tool owner = %d:%d, want 1234:5678", tool.Uid, tool.Gid)
			}
			if got := time.Unix(tool.Mtim.Unix()); !got.Equal(mtime) {
				t.Errorf("/opt/tool mtime = %v, want %v", got, mtime)
			}
			if link := lstat(t, filepath.Join(dir, "opt", "tool-link")); link.Ino != tool.Ino {
				t.Errorf("/opt/tool-link is not a hard link of /opt/tool")
			}
			if target, err := os.Readlink(filepath.Join(dir, "opt", "abs")); err != nil || target != "/etc/passwd" {
				t.Errorf("/opt/abs -> %q, %v; want a symlink to /etc/passwd", target, err)
			}
		})
	}
}

// writeTree archives the tree at root, the way tar -C root . would.
func writeTree(t *testing.T, tw *tar.Writer, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tw.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
