//go:build linux

package local_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// The example monorepo bakes whole on the local platform: every image on
// its parent, in dependency order, each checking what its parent left.
func TestBakeExamples(t *testing.T) {
	t.Parallel()
	rootfs := testrootfs.New(t)
	root := t.TempDir()
	copyExamples(t, root, rootfs)
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	loader, err := rules.NewLoader(ws, rules.Config{Platform: rules.PlatformLocal})
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := loader.PackagesBeneath("examples")
	if err != nil {
		t.Fatal(err)
	}
	res, err := loader.Load(context.Background(), pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}

	b, _ := newBaker(t)
	baked := map[label.Label]string{}
	for len(baked) < len(res.Images) {
		progress := false
		for _, l := range rules.SortedLabels(res.Images) {
			im := res.Images[l]
			if baked[l] != "" || (!im.Parent.IsZero() && baked[im.Parent] == "") {
				continue
			}
			job := &bake.Job{Image: im, Key: newKey(), Region: ws.HomeRegion, Parent: baked[im.Parent]}
			if im.Parent.IsZero() {
				job.Source, job.SourceFile = im.Source, im.Source.File.Path
			}
			for _, a := range im.Artifacts {
				if job.Artifacts == nil {
					job.Artifacts = map[string]string{}
				}
				job.Artifacts[a.Name] = filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(a.URL, "file://")))
			}
			baked[l], _ = bakeOK(t, b, job)
			progress = true
		}
		if !progress {
			t.Fatalf("images whose parents never bake: %d of %d baked", len(baked), len(res.Images))
		}
	}

	api := baked[label.Label{Pkg: "examples/apps/api", Name: "api"}]
	debug := baked[label.Label{Pkg: "examples/apps/api", Name: "api-debug"}]
	admin := baked[label.Label{Pkg: "examples/apps/admin", Name: "admin"}]
	if api == "" || debug == "" || admin == "" {
		t.Fatalf("baked %v: the examples lack api, api-debug or admin", baked)
	}
	if !strings.Contains(imageFile(t, b, api, "etc/passwd"), "\napi:x:") {
		t.Errorf("api's /etc/passwd has no api user")
	}
	if _, err := os.Stat(filepath.Join(b.ImageDir(api), "opt/api/lib/api.jar")); err != nil {
		t.Errorf("api: %v", err)
	}
	if target, err := os.Readlink(filepath.Join(b.ImageDir(api), "etc/systemd/system/multi-user.target.wants/api.service")); err != nil || target != "../api.service" {
		t.Errorf("api.service is not enabled: %q, %v", target, err)
	}
	if !strings.Contains(imageFile(t, b, debug, "etc/api/application.properties"), "DEBUG") {
		t.Errorf("api-debug has no debug logging")
	}
	for l, id := range baked {
		entries, _ := os.ReadDir(filepath.Join(b.ImageDir(id), "tmp"))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "imgraph-") {
				t.Errorf("%s keeps /tmp/%s", l, e.Name())
			}
		}
	}
}

// copyExamples copies the workspace root and examples/ of this repository
// to root, with rootfs as the base image's root filesystem.
func copyExamples(t *testing.T, root, rootfs string) {
	t.Helper()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(repo, "IMAGES.star"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "IMAGES.star"), string(data), 0o644)
	src := filepath.Join(repo, "examples")
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		if rel == filepath.Join("examples", "base", "rootfs") {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		dst := filepath.Join(root, rel)
		switch {
		case d.IsDir():
			mustMkdir(t, dst, 0o755)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			writeFile(t, dst, string(data), info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(rootfs, filepath.Join(root, "examples", "base", "rootfs")); err != nil {
		t.Fatal(err)
	}
}
