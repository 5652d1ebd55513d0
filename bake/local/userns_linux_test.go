package local

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// The rootless path, taken here even as root: the sandbox enters a user
// namespace that maps root to the caller, and a bake works the same.
func TestUserNamespace(t *testing.T) {
	t.Parallel()
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("needs a static BusyBox at /bin/busybox (Debian: busybox-static): %v", err)
	}
	store, err := cache.OpenLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.sandbox, err = sandbox.NewUserNamespace(context.Background(), store.Path("images"))
	if err != nil {
		t.Skipf("user namespaces are not available here: %v", err)
	}

	// A root filesystem as a tarball, unpacked inside the user namespace;
	// its owner 1234 does not exist there, and is dropped.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(busybox)), Uid: 1234},
		{Typeflag: tar.TypeSymlink, Name: "bin/sh", Linkname: "busybox"},
		{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777},
		{Typeflag: tar.TypeChar, Name: "dev/console", Mode: 0o600, Devmajor: 5, Devminor: 1},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(busybox)
		}
	}
	tw.Close()
	archive := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "app.conf")
	if err := os.WriteFile(conf, []byte("conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	var log strings.Builder
	base := "0a" + strings.Repeat("1", 62)
	im := &rules.Image{Label: label.Label{Pkg: "t", Name: "base"}, Provision: []rules.Provisioner{
		{Kind: rules.ProvisionShell, Inline: []string{
			"/bin/busybox mkdir -p /usr/bin /out",
			"/bin/busybox --install -s /usr/bin",
			"id -u > /out/uid", "hostname > /out/hostname", "echo $$ > /out/pid",
		}},
		{Kind: rules.ProvisionCopy, Src: &rules.File{Label: label.Label{Pkg: "t", Name: "app.conf"}, Path: conf}, Dest: "/etc/app.conf", Mode: "0600"},
	}}
	if _, err := b.Bake(ctx, &bake.Job{Image: im, Key: base, SourceFile: archive, Log: &log}); err != nil {
		t.Fatalf("Bake: %v\n%s", err, log.String())
	}
	child := "0b" + strings.Repeat("2", 62)
	im = &rules.Image{Label: label.Label{Pkg: "t", Name: "child"}, Provision: []rules.Provisioner{
		{Kind: rules.ProvisionShell, Inline: []string{"cat /etc/app.conf > /out/seen"}},
	}}
	if _, err := b.Bake(ctx, &bake.Job{Image: im, Key: child, Parent: base, Log: &log}); err != nil {
		t.Fatalf("Bake: %v\n%s", err, log.String())
	}
	// The child is a layer on its parent's, through an overlay mounted
	// in the user namespace.
	if err := b.sandbox.Overlays(); err != nil {
		t.Errorf("overlays do not work in a user namespace here (Linux 5.11 has them): %v", err)
	} else if _, err := os.Stat(filepath.Join(b.ImageDir(child), "out", "uid")); err == nil {
		t.Error("the child's layer holds its parent's /out/uid")
	}
	tree := filepath.Join(t.TempDir(), "child")
	if err := b.Export(ctx, child, "dir", tree); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"uid": "0\n", "hostname": "imgraph\n", "pid": "1\n", "seen": "conf\n"} {
		data, err := os.ReadFile(filepath.Join(tree, "out", name))
		if err != nil || string(data) != want {
			t.Errorf("/out/%s = %q, %v; want %q", name, data, err, want)
		}
	}
	info, err := os.Stat(filepath.Join(tree, "etc", "app.conf"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("/etc/app.conf: %v, %v; want mode 0600", info, err)
	}
	if !strings.Contains(log.String(), "skipped device node /dev/console") {
		t.Errorf("the log does not say /dev/console was skipped:\n%s", log.String())
	}
}
