package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// Where overlays cannot be used, a bake copies its parent's tree, its
// chain of layers flattened, and its own layer is a whole tree: a chain
// may mix both, and every image is the same either way. The copy is said
// once.
func TestCopyWhereOverlaysCannotBeUsed(t *testing.T) {
	t.Parallel()
	store, err := cache.OpenLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	b, err := New(store, Options{Warn: func(format string, args ...any) {
		warnings = append(warnings, format)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bakeImage := func(name, key, parent string, lines ...string) {
		t.Helper()
		job := &bake.Job{Image: &rules.Image{Label: label.Label{Pkg: "t", Name: name},
			Provision: []rules.Provisioner{{Kind: rules.ProvisionShell, Inline: lines}}}, Key: key, Parent: parent}
		if parent == "" {
			job.SourceFile = testrootfs.New(t)
		}
		var log strings.Builder
		job.Log = &log
		if _, err := b.Bake(ctx, job); err != nil {
			t.Fatalf("bake %s: %v\n%s", name, err, log.String())
		}
	}
	base, mid, leaf := "0a"+strings.Repeat("1", 62), "0b"+strings.Repeat("2", 62), "0c"+strings.Repeat("3", 62)
	bakeImage("base", base, "", "echo base > /base", "echo doomed > /doomed")
	bakeImage("mid", mid, base, "rm /doomed", "echo mid > /mid") // a layer, where overlays work
	b.copyTrees = true
	bakeImage("leaf", leaf, mid, "echo leaf > /leaf") // a copy of the flattened chain
	if _, err := os.Lstat(b.parentPath(leaf)); err == nil {
		t.Error("a copied image names a parent layer")
	}
	for _, name := range []string{"base", "mid", "leaf", "bin/busybox"} {
		if _, err := os.Lstat(filepath.Join(b.ImageDir(leaf), name)); err != nil {
			t.Errorf("the copied image lacks /%s: %v", name, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(b.ImageDir(leaf), "doomed")); err == nil {
		t.Error("the copied image holds /doomed, which its parent removed")
	}
	bakeImage("leaf2", "0d"+strings.Repeat("4", 62), mid, "true")
	said := 0
	for _, w := range warnings {
		if strings.Contains(w, "copies its parent's tree") {
			said++
		}
	}
	if said != 1 {
		t.Errorf("the copy was said %d times, want once: %q", said, warnings)
	}
}
