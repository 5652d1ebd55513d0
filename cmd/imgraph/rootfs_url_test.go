package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A team publishes a base root filesystem as a tarball; another workspace
// bakes on it from its URL, pinned by digest. The tarball here is a baked
// image exported by imgraph itself, gzipped, served on the loopback.
func TestRootfsFromURL(t *testing.T) {
	publisher := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"),
    provision = [shell(inline = ["echo published > /etc/base-release"])])`,
	})
	if r := publisher.imgraph(t, nil, "build", "//base"); r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	tarPath := filepath.Join(t.TempDir(), "base.tar")
	if r := publisher.imgraph(t, nil, "export", "//base", tarPath); r.code != exitOK {
		t.Fatalf("export: %v", r)
	}
	plain, err := os.ReadFile(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	sum := sha256.Sum256(gz.Bytes())
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write(gz.Bytes())
	}))
	defer srv.Close()

	ws := newWorkspace(t, map[string]string{
		"app/IMAGES.star": `image(name = "app",
    source = rootfs(url = "` + srv.URL + `/base.tar.gz", sha256 = "` + hex.EncodeToString(sum[:]) + `"),
    provision = [shell(inline = ["cat /etc/base-release > /etc/app-saw"])])`,
	})
	if r := ws.imgraph(t, nil, "build", "//app"); r.code != exitOK {
		t.Fatalf("build on the published rootfs: %v", r)
	}
	out := filepath.Join(t.TempDir(), "app")
	if r := ws.imgraph(t, nil, "export", "//app", "--format", "dir", out); r.code != exitOK {
		t.Fatalf("export: %v", r)
	}
	if got, err := os.ReadFile(filepath.Join(out, "etc", "app-saw")); err != nil || string(got) != "published\n" {
		t.Errorf("/etc/app-saw = %q (%v): the provisioner did not run on the published rootfs", got, err)
	}

	// A second build needs neither the bake nor the download.
	if r := ws.imgraph(t, nil, "build", "//app"); r.code != exitOK || !strings.Contains(r.stdout, "1 cached") {
		t.Fatalf("second build: %v", r)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("the tarball was downloaded %d times, want once", n)
	}
}
