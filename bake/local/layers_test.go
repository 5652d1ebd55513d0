//go:build linux

package local_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

// A child's layer holds what its provisioners changed and nothing else;
// the image it makes on its parent's layers is what a copy would have
// made: a file deleted by a child is gone in the child and kept in the
// parent, a file changed by a grandchild has the grandchild's bytes there
// and its parent's in the parent, and modes, owners, symlinks, hard links
// and extended attributes survive layering and export.
func TestLayers(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("owners are kept only by root")
	}
	b, _ := newBaker(t)
	rootfs := testrootfs.New(t)
	mustMkdir(t, filepath.Join(rootfs, "data"), 0o755)
	for _, name := range []string{"gone", "changed", "owned", "tagged"} {
		writeFile(t, filepath.Join(rootfs, "data", name), name+"\n", 0o644)
	}
	if err := os.Lchown(filepath.Join(rootfs, "data", "owned"), 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(rootfs, "data", "tagged"), "user.colour", []byte("red"), 0); err != nil {
		t.Fatal(err)
	}
	base, _ := bakeOK(t, b, rootJob(image("base"), rootfs))
	child, _ := bakeOK(t, b, childJob(image("child", inline(
		"rm /data/gone", "echo child > /data/changed", "chmod 0600 /data/owned",
		"echo linked > /data/h1", "ln /data/h1 /data/h2", "ln -s changed /data/link",
	)), base))
	grandchild, _ := bakeOK(t, b, childJob(image("grandchild", inline("echo grandchild > /data/changed")), child))

	// The child's layer: its changes alone.
	entries, err := os.ReadDir(b.ImageDir(child))
	if err != nil {
		t.Fatal(err)
	}
	var top []string
	for _, e := range entries {
		top = append(top, e.Name())
	}
	if strings.Join(top, " ") != "data" {
		t.Errorf("the child's layer holds /%s, want its /data alone", strings.Join(top, ", /"))
	}
	if _, err := os.Lstat(filepath.Join(b.ImageDir(child), "data", "tagged")); err == nil {
		t.Error("the child's layer holds a file it never touched")
	}

	trees := map[string]string{"base": imageTree(t, b, base), "child": imageTree(t, b, child), "grandchild": imageTree(t, b, grandchild)}
	read := func(image, name string) string {
		data, err := os.ReadFile(filepath.Join(trees[image], "data", name))
		if err != nil {
			return err.Error()
		}
		return string(data)
	}
	for _, c := range []struct{ image, name, want string }{
		{"base", "gone", "gone\n"}, {"base", "changed", "changed\n"},
		{"child", "changed", "child\n"}, {"grandchild", "changed", "grandchild\n"},
		{"grandchild", "h1", "linked\n"}, {"grandchild", "tagged", "tagged\n"},
	} {
		if got := read(c.image, c.name); got != c.want {
			t.Errorf("%s's /data/%s = %q, want %q", c.image, c.name, got, c.want)
		}
	}
	for _, image := range []string{"child", "grandchild"} {
		if _, err := os.Lstat(filepath.Join(trees[image], "data", "gone")); err == nil {
			t.Errorf("%s's /data/gone survived its deletion", image)
		}
		owned := lstat(t, filepath.Join(trees[image], "data", "owned"))
		if owned.Mode&0o7777 != 0o600 || owned.Uid != 1234 || owned.Gid != 5678 {
			t.Errorf("%s's /data/owned: mode %o, owner %d:%d; want 600 and 1234:5678", image, owned.Mode&0o7777, owned.Uid, owned.Gid)
		}
		if lstat(t, filepath.Join(trees[image], "data", "h1")).Ino != lstat(t, filepath.Join(trees[image], "data", "h2")).Ino {
			t.Errorf("%s's /data/h1 and /data/h2 are no longer one file", image)
		}
		if target, err := os.Readlink(filepath.Join(trees[image], "data", "link")); err != nil || target != "changed" {
			t.Errorf("%s's /data/link -> %q, %v", image, target, err)
		}
		buf := make([]byte, 8)
		if n, err := unix.Getxattr(filepath.Join(trees[image], "data", "tagged"), "user.colour", buf); err != nil || string(buf[:n]) != "red" {
			t.Errorf("%s's /data/tagged lost user.colour: %q, %v", image, buf[:n], err)
		}
	}

	// The tar of the grandchild: its bytes, its parent's attributes.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(exportTar(b, grandchild, pw)) }()
	tr := tar.NewReader(pr)
	seen := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		seen[h.Name] = h
	}
	if h := seen["data/tagged"]; h == nil || h.PAXRecords["SCHILY.xattr.user.colour"] != "red" {
		t.Errorf("the tar's data/tagged: %+v, want user.colour kept", h)
	}
	if seen["data/gone"] != nil || seen["data/changed"] == nil || seen["data/h2"] == nil || seen["data/h2"].Typeflag != tar.TypeLink {
		t.Errorf("the tar: gone %v, changed %v, h2 %+v", seen["data/gone"] != nil, seen["data/changed"] != nil, seen["data/h2"])
	}
}

// exportTar writes image id's tar to w, as imgraph export does to a file.
func exportTar(b interface {
	Export(ctx context.Context, id, format, out string) error
}, id string, w io.Writer) error {
	f, err := os.CreateTemp("", "export-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	f.Close()
	if err := b.Export(context.Background(), id, "tar", f.Name()); err != nil {
		return err
	}
	r, err := os.Open(f.Name())
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(w, r)
	return err
}

// Ctrl-C while a child's provisioner runs on its overlay leaves no mount
// and no layer, whole or partial.
func TestCancelALayeredBake(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	base, _ := bakeOK(t, b, rootJob(image("base"), testrootfs.New(t)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := childJob(image("child", inline("echo started", "echo partial > /partial", "sleep 60")), base)
	job.Log = &watchWriter{want: "started", seen: cancel}
	if _, err := b.Bake(ctx, job); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled bake: %v", err)
	}
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), store.Path("images")) {
		t.Errorf("a mount of the cache outlived the bake:\n%s", mounts)
	}
	if _, err := os.Lstat(b.ImageDir(job.Key)); err == nil || len(leftovers(t, store)) > 0 {
		t.Errorf("the cancelled bake left its layer (%v) or trees %v", err, leftovers(t, store))
	}
}

// watchWriter calls seen once what it is written holds want.
type watchWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen func()
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(w.seen)
	}
	return len(p), nil
}

// A layer missing below an image makes the image a miss, with a warning
// naming the layer; baking the parent again (its key is the same) puts
// the layer back, and the image is whole again without a bake of its own.
func TestABrokenChainIsAMiss(t *testing.T) {
	t.Parallel()
	store, err := cache.OpenLocal(filepath.Join(t.TempDir(), "cache"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var warnings []string
	b, err := local.New(store, local.Options{Warn: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, fmt.Sprintf(format, args...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	rootfs := testrootfs.New(t)
	baseJob := rootJob(image("base", inline("echo base > /base")), rootfs)
	base, _ := bakeOK(t, b, baseJob)
	child, _ := bakeOK(t, b, childJob(image("child", inline("echo child > /child")), base))
	ref := bake.ImageRef{Region: "local", Key: child, ID: child}
	ctx := context.Background()
	if ok, err := b.Exist(ctx, []bake.ImageRef{ref}); err != nil || !ok[ref] {
		t.Fatalf("Exist of the child = %v, %v", ok, err)
	}

	if err := sandbox.RemoveTree(b.ImageDir(base)); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Exist(ctx, []bake.ImageRef{ref}); err != nil || ok[ref] {
		t.Errorf("Exist of a child whose parent's layer is gone = %v, %v; want a miss", ok, err)
	}
	mu.Lock()
	warned := strings.Join(warnings, "\n")
	mu.Unlock()
	if !strings.Contains(warned, "lies on layer "+base[:12]) {
		t.Errorf("warnings %q, want one naming the missing layer", warned)
	}
	if err := b.Export(ctx, child, "dir", filepath.Join(t.TempDir(), "out")); err == nil {
		t.Error("a child whose parent's layer is gone was exported")
	}

	baseJob.Log = nil
	bakeOK(t, b, baseJob)
	if ok, err := b.Exist(ctx, []bake.ImageRef{ref}); err != nil || !ok[ref] {
		t.Errorf("Exist of the child once its parent is baked again = %v, %v", ok, err)
	}
	if got := imageFile(t, b, child, "base"); got != "base\n" {
		t.Errorf("the child's /base = %q", got)
	}
}

// An image whose own layer names a parent that cannot be is damaged, and
// bakes again; it does not wait for a parent that is fine.
func TestALayerNamingNoParentBakesAgain(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	base, _ := bakeOK(t, b, rootJob(image("base"), testrootfs.New(t)))
	job := childJob(image("child", inline("echo child > /child")), base)
	bakeOK(t, b, job)
	if err := os.WriteFile(store.Path("images", job.Key+".parent"), []byte("zz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job.Log = nil
	bakeOK(t, b, job)
	if got := imageFile(t, b, job.Key, "child"); got != "child\n" {
		t.Errorf("the child baked again holds /child = %q", got)
	}
}

// A gc that retires a parent while a child bakes on it keeps the parent:
// the bake holds the layers it reads, and the bake finishes whole.
func TestRetireKeepsALayerABakeReads(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	base, _ := bakeOK(t, b, rootJob(image("base", inline("echo base > /base")), testrootfs.New(t)))
	ctx := context.Background()
	// The bake's step cannot end before the retire returns: the retire
	// runs in the write of the step's output, which the step waits for.
	job := childJob(image("child", inline("echo started", "cat /base > /child")), base)
	retired := make(chan error, 1)
	var retireOnce sync.Once
	job.Log = &watchWriter{want: "started", seen: func() {
		retireOnce.Do(func() {
			_, err := b.Retire(ctx, bake.BakedImage{Key: base, ID: base, Region: "local"})
			retired <- err
		})
	}}
	done := make(chan error, 1)
	go func() {
		_, err := b.Bake(ctx, job)
		done <- err
	}()
	err := <-retired
	var still *bake.StillWantedError
	if !errors.As(err, &still) || !strings.Contains(still.Reason, "work in progress") {
		t.Errorf("Retire of a layer a bake reads: %v, want it kept for the bake", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the bake: %v", err)
	}
	if got := imageFile(t, b, job.Key, "child"); got != "base\n" {
		t.Errorf("the child's /child = %q", got)
	}
	// Once nothing reads it but the child, the child keeps it.
	_, err = b.Retire(ctx, bake.BakedImage{Key: base, ID: base, Region: "local"})
	if !errors.As(err, &still) || !slices.Contains(still.NeededBy, job.Key) {
		t.Errorf("Retire of a layer a child lies on: %v", err)
	}
}
