//go:build linux

package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

func TestMain(m *testing.M) {
	// The sandbox is this test binary re-executed.
	sandbox.MaybeRun()
	os.Exit(m.Run())
}

// newBaker opens a new cache in a temporary directory and a Baker on it.
func newBaker(t *testing.T) (*local.Baker, *cache.Local) {
	t.Helper()
	store, err := cache.OpenLocal(filepath.Join(t.TempDir(), "cache"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := local.New(store, local.Options{Warn: func(format string, args ...any) {
		t.Logf("warning: "+format, args...)
	}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b, store
}

// workspace holds the files the provisioners of a test send.
type workspace struct {
	t   *testing.T
	dir string
}

func newWorkspace(t *testing.T) *workspace {
	return &workspace{t: t, dir: t.TempDir()}
}

// file writes a file of package //t and returns it as a rules.File.
func (w *workspace) file(name, content string, mode os.FileMode) *rules.File {
	w.t.Helper()
	p := filepath.Join(w.dir, filepath.FromSlash(name))
	mustMkdir(w.t, filepath.Dir(p), 0o755)
	writeFile(w.t, p, content, mode)
	return &rules.File{Label: label.Label{Pkg: "t", Name: name}, Path: p}
}

func (w *workspace) script(name, body string) rules.Provisioner {
	return rules.Provisioner{Kind: rules.ProvisionShell, Script: w.file(name, body, 0o644)}
}

func inline(lines ...string) rules.Provisioner {
	return rules.Provisioner{Kind: rules.ProvisionShell, Inline: lines}
}

func copyTo(src *rules.File, dest, mode string) rules.Provisioner {
	return rules.Provisioner{Kind: rules.ProvisionCopy, Src: src, Dest: dest, Mode: mode}
}

func newKey() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func image(name string, provision ...rules.Provisioner) *rules.Image {
	return &rules.Image{Label: label.Label{Pkg: "t", Name: name}, Provision: provision}
}

// rootJob bakes im from the root filesystem at rootfs.
func rootJob(im *rules.Image, rootfs string) *bake.Job {
	return &bake.Job{Image: im, Key: newKey(), Region: "local", SourceFile: rootfs,
		Source: &rules.Source{Kind: rules.SourceRootfs}}
}

// childJob bakes im on the image parent.
func childJob(im *rules.Image, parent string) *bake.Job {
	return &bake.Job{Image: im, Key: newKey(), Region: "local", Parent: parent}
}

// bakeOK bakes job, failing the test on an error, and returns the id and
// the bake's log.
func bakeOK(t *testing.T, b *local.Baker, job *bake.Job) (string, string) {
	t.Helper()
	var log bytes.Buffer
	if job.Log == nil {
		job.Log = &log
	}
	if job.Env == nil {
		// As the engine gives it: the env and the artifacts' paths.
		for name := range job.Artifacts {
			job.Image.Artifacts = append(job.Image.Artifacts, rules.Artifact{Name: name})
		}
		job.Env, _, _ = bake.Environment(job.Image, nil)
	}
	id, err := b.Bake(context.Background(), job)
	if err != nil {
		t.Fatalf("Bake %s: %v\nlog:\n%s", job.Image.Label, err, log.String())
	}
	if id != job.Key {
		t.Fatalf("Bake %s = %q, want the key %q", job.Image.Label, id, job.Key)
	}
	return id, log.String()
}

// imageTree is a baked image's whole tree, its layers flattened into a
// directory of the test's.
func imageTree(t *testing.T, b *local.Baker, id string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	if err := b.Export(context.Background(), id, "dir", dir); err != nil {
		t.Fatalf("image %s: %v", id[:8], err)
	}
	return dir
}

// imageFile reads a file of a baked image from the host.
func imageFile(t *testing.T, b *local.Baker, id, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(imageTree(t, b, id), filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("image %s: %v", id[:8], err)
	}
	return string(data)
}

func lstat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

// treeHash hashes everything a tree holds: names, types, modes, owners,
// contents and symlink targets.
func treeHash(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %o %d:%d", rel, st.Mode, st.Uid, st.Gid)
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " -> %s", target)
		case syscall.S_IFREG:
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
		}
		fmt.Fprintln(h)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// filesHolding lists the files under root whose content contains s.
func filesHolding(t *testing.T, root, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(s)) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(found)
	return found
}

// leftovers lists what a bake must never leave in the images directory:
// temporary trees.
func leftovers(t *testing.T, store *cache.Local) []string {
	t.Helper()
	entries, err := os.ReadDir(store.Path("images"))
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

func mustMkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(p, mode); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, p, mode)
}
