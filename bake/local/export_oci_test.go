//go:build linux

package local_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

// An OCI export of a three-level chain has three layers, the root's
// first, with OCI whiteouts for what a child removed; a sibling's export
// shares the two layers below it, blob for blob; the config names the
// image's label and key; and the docker archive holds the same image.
func TestExportOCI(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	ctx := context.Background()
	bakeAs := func(job *bake.Job) string {
		id, _ := bakeOK(t, b, job)
		if err := b.Publish(ctx, &bake.PublishJob{Image: job.Image, ID: id, Region: "local"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	base := bakeAs(rootJob(image("base", inline("echo base > /base", "echo doomed > /doomed")), testrootfs.New(t)))
	mid := bakeAs(childJob(image("mid", inline("rm /doomed", "echo mid > /mid")), base))
	leaf := bakeAs(childJob(image("leaf", inline("echo leaf > /leaf")), mid))
	sibling := bakeAs(childJob(image("sibling", inline("echo sibling > /sibling")), mid))

	layers := func(img v1.Image) []v1.Hash {
		t.Helper()
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var out []v1.Hash
		for _, l := range ls {
			d, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	fromLayout := func(dir string) []v1.Image {
		t.Helper()
		p, err := layout.FromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		var imgs []v1.Image
		for _, d := range m.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			imgs = append(imgs, img)
		}
		return imgs
	}

	// Two images into one layout, and the sibling into one of its own.
	shared := filepath.Join(t.TempDir(), "oci")
	apart := filepath.Join(t.TempDir(), "oci")
	for _, e := range []struct{ id, out string }{{leaf, shared}, {sibling, shared}, {sibling, apart}} {
		if err := b.Export(ctx, e.id, "oci", e.out); err != nil {
			t.Fatal(err)
		}
	}
	imgs := fromLayout(shared)
	if len(imgs) != 2 {
		t.Fatalf("the layout holds %d images, want the leaf and its sibling", len(imgs))
	}
	leafLayers, siblingLayers := layers(imgs[0]), layers(fromLayout(apart)[0])
	if len(leafLayers) != 3 || len(siblingLayers) != 3 {
		t.Fatalf("layers: leaf %d, sibling %d; want 3 each", len(leafLayers), len(siblingLayers))
	}
	if !slices.Equal(leafLayers[:2], siblingLayers[:2]) || leafLayers[2] == siblingLayers[2] {
		t.Errorf("leaf %v, sibling %v: want the two base layers shared, blob for blob, and the top ones apart", leafLayers, siblingLayers)
	}
	cf, err := imgs[0].ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Labels[local.LabelKey] != leaf || cf.Config.Labels[local.LabelImage] != "//t:leaf" || cf.OS != "linux" {
		t.Errorf("config: labels %v, os %q", cf.Config.Labels, cf.OS)
	}

	// The mid layer says /doomed is gone; the image, flattened, agrees.
	ls, _ := imgs[0].Layers()
	if names := tarNames(t, ls[1]); !slices.Contains(names, ".wh.doomed") || !slices.Contains(names, "mid") {
		t.Errorf("the mid layer holds %q, want .wh.doomed and mid", names)
	}
	flat := tarNamesOf(t, mutate.Extract(imgs[0]))
	for _, want := range []string{"base", "mid", "leaf", "bin/busybox"} {
		if !slices.Contains(flat, want) {
			t.Errorf("the flattened leaf lacks /%s", want)
		}
	}
	if slices.Contains(flat, "doomed") {
		t.Error("the flattened leaf holds /doomed, which its parent removed")
	}

	archive := filepath.Join(t.TempDir(), "leaf.tar")
	if err := b.Export(ctx, leaf, "docker-archive", archive); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := layers(img); !slices.Equal(got, leafLayers) {
		t.Errorf("the docker archive's layers %v, want the OCI export's %v", got, leafLayers)
	}
}

func tarNames(t *testing.T, l v1.Layer) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	return tarNamesOf(t, rc)
}

func tarNamesOf(t *testing.T, rc io.ReadCloser) []string {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}
