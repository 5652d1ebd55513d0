package local

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// The parent of BenchmarkChildBake: a BusyBox root filesystem and 5,000
// files of 100 KiB, 500 MiB in all, in 50 directories.
const (
	benchFiles    = 5000
	benchFileSize = 100 << 10
)

// BenchmarkChildBake bakes a child whose one provisioner writes one file
// on a 500 MiB parent of 5,000 files: as a layer on the parent's (where
// overlays work) and as a whole copy, reporting the time of a bake and
// the cache space it adds (added-MiB).
func BenchmarkChildBake(b *testing.B) {
	store, err := cache.OpenLocal(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	baker, err := New(store, Options{Warn: func(string, ...any) {}})
	if err != nil {
		b.Fatal(err)
	}
	rootfs := testrootfs.New(b)
	data := make([]byte, benchFileSize)
	for i := range benchFiles {
		dir := filepath.Join(rootfs, "srv", fmt.Sprintf("d%02d", i%50))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	parent := strings.Repeat("a", 64)
	im := &rules.Image{Label: label.Label{Pkg: "bench", Name: "parent"}}
	if _, err := baker.Bake(ctx, &bake.Job{Image: im, Key: parent, SourceFile: rootfs}); err != nil {
		b.Fatal(err)
	}
	if err := sandbox.RemoveTree(rootfs); err != nil {
		b.Fatal(err)
	}
	child := &rules.Image{Label: label.Label{Pkg: "bench", Name: "child"},
		Provision: []rules.Provisioner{{Kind: rules.ProvisionShell, Inline: []string{"echo built > /etc/child"}}}}
	for _, mode := range []struct {
		name string
		copy bool
	}{{"layer", false}, {"copy", true}} {
		b.Run(mode.name, func(b *testing.B) {
			if !mode.copy && baker.sandbox.Overlays() != nil {
				b.Skipf("overlays do not work here: %v", baker.sandbox.Overlays())
			}
			baker.copyTrees = mode.copy
			var added int64
			for i := 0; b.Loop(); i++ {
				key := fmt.Sprintf("%062x%02x", i, 0xb)
				if _, err := baker.Bake(ctx, &bake.Job{Image: child, Key: key, Parent: parent}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				added += diskUsage(b, store.Path("images"), key)
				if err := sandbox.RemoveTree(baker.ImageDir(key)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(added)/float64(b.N)/(1<<20), "added-MiB")
		})
	}
}

// diskUsage is the space the image key's layer and files take: the
// blocks of every file, as du counts them.
func diskUsage(b *testing.B, dir, key string) int64 {
	var n int64
	err := filepath.WalkDir(filepath.Join(dir, key), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += statBlocks(info) * 512
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, ext := range []string{".parent", ".entries"} {
		if info, err := os.Lstat(filepath.Join(dir, key+ext)); err == nil {
			n += statBlocks(info) * 512
		}
	}
	return n
}

func statBlocks(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks
	}
	return (info.Size() + 511) / 512
}
