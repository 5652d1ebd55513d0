//go:build linux

package local_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

// bakeForExport bakes an image holding what an export must keep: modes,
// owners, setuid, symlinks and hard links.
func bakeForExport(t *testing.T) (*local.Baker, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the image's owners are set by chown, which needs root")
	}
	b, _ := newBaker(t)
	id, _ := bakeOK(t, b, rootJob(image("exported", inline(
		"mkdir -p /opt/app",
		"echo config > /opt/app/config && chmod 0640 /opt/app/config && chown 1234:5678 /opt/app/config",
		"ln -s config /opt/app/link",
		"echo tool > /opt/app/tool && chmod 4755 /opt/app/tool",
		"ln /opt/app/tool /opt/app/tool-hard",
	)), testrootfs.New(t)))
	return b, id
}

func TestExportTar(t *testing.T) {
	t.Parallel()
	b, id := bakeForExport(t)
	out := filepath.Join(t.TempDir(), "image.tar")
	if err := b.Export(context.Background(), id, "tar", out); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Export(context.Background(), id, "tar", out); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(out)
	if !bytes.Equal(first, second) {
		t.Errorf("two exports of one image differ")
	}

	headers := map[string]*tar.Header{}
	var names []string
	tr := tar.NewReader(bytes.NewReader(first))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
		headers[strings.TrimSuffix(h.Name, "/")] = h
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries are not in name order: %v", names)
	}
	checks := []struct {
		name     string
		typ      byte
		mode     int64
		uid, gid int
		link     string
	}{
		{"opt/app", tar.TypeDir, 0o755, 0, 0, ""},
		{"opt/app/config", tar.TypeReg, 0o640, 1234, 5678, ""},
		{"opt/app/link", tar.TypeSymlink, 0o777, 0, 0, "config"},
		{"opt/app/tool", tar.TypeReg, 0o4755, 0, 0, ""},
		{"opt/app/tool-hard", tar.TypeLink, 0o4755, 0, 0, "opt/app/tool"},
		{"tmp", tar.TypeDir, 0o1777, 0, 0, ""},
		{"bin/sh", tar.TypeSymlink, 0o777, 0, 0, "busybox"},
	}
	for _, c := range checks {
		h := headers[c.name]
		if h == nil {
			t.Errorf("the tar lacks %s", c.name)
			continue
		}
		if h.Typeflag != c.typ || h.Mode != c.mode || h.Uid != c.uid || h.Gid != c.gid || h.Linkname != c.link {
			t.Errorf("%s: type %c mode %o owner %d:%d link %q; want type %c mode %o owner %d:%d link %q",
				c.name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, c.typ, c.mode, c.uid, c.gid, c.link)
		}
	}

	// The export, gzipped, is a root filesystem that bakes into the same tree.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(first)
	zw.Close()
	archive := filepath.Join(t.TempDir(), "image.tar.gz")
	writeFile(t, archive, gz.String(), 0o644)
	again, _ := bakeOK(t, b, rootJob(image("reimported"), archive))
	if treeHash(t, b.ImageDir(again)) != treeHash(t, b.ImageDir(id)) {
		t.Errorf("the image baked from the export differs from the exported image")
	}
}

func TestExportDir(t *testing.T) {
	t.Parallel()
	b, id := bakeForExport(t)
	want := treeHash(t, b.ImageDir(id))
	fresh := filepath.Join(t.TempDir(), "new")
	empty := t.TempDir()
	for _, out := range []string{fresh, empty} {
		if err := b.Export(context.Background(), id, "dir", out); err != nil {
			t.Fatalf("Export to %s: %v", out, err)
		}
		if got := treeHash(t, out); got != want {
			t.Errorf("the export in %s differs from the image", out)
		}
	}
	full := t.TempDir()
	writeFile(t, filepath.Join(full, "keep"), "mine\n", 0o644)
	if err := b.Export(context.Background(), id, "dir", full); err == nil {
		t.Errorf("Export into a directory that is not empty succeeded")
	}
	if data, _ := os.ReadFile(filepath.Join(full, "keep")); string(data) != "mine\n" {
		t.Errorf("a refused export touched the directory")
	}
	if err := b.Export(context.Background(), id, "zip", filepath.Join(t.TempDir(), "x")); err == nil {
		t.Errorf("Export in an unknown format succeeded")
	}
}
