package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgraph/imgraph/bake"
)

// How an OCI layer marks what it removes from the layers below: a file
// .wh.<name> for each removed entry, and .wh..wh..opq in a directory that
// hides everything below it.
const (
	ociWhiteout = ".wh."
	ociOpaque   = ociWhiteout + ociWhiteout + ".opq"
)

// The labels of an exported image's config.
const (
	LabelImage = "org.imgraph.image" // the image's label, //pkg:name
	LabelKey   = "org.imgraph.key"   // its key
)

// exportOCI writes the image whose layers are given (its own first) as an
// OCI image whose layers are its chain's, the root's first: images that
// share a parent share its layers' blobs. Format "oci" adds it to the OCI
// image layout at out (made if it does not exist); "docker-archive"
// writes the tar `docker load` and `podman load` read. The layers' tars
// are written to tmp first.
func (b *Baker) exportOCI(ctx context.Context, id string, layers []string, tmp, format, out string) error {
	var ls []v1.Layer
	for i := len(layers) - 1; i >= 0; i-- {
		file := filepath.Join(tmp, fmt.Sprintf("layer-%d.tar", len(layers)-1-i))
		if err := writeLayerTar(ctx, layers[i], file); err != nil {
			return fmt.Errorf("local: export: layer %s: %w", filepath.Base(layers[i]), err)
		}
		l, err := tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return fmt.Errorf("local: export: %w", err)
		}
		ls = append(ls, l)
	}
	label := b.labelOf(id)
	img, err := ociImage(ls, label, id)
	if err != nil {
		return fmt.Errorf("local: export: %w", err)
	}
	switch format {
	case "docker-archive":
		ref, err := name.NewTag(dockerRepository(label, id) + ":" + bake.ShortKey(id))
		if err != nil {
			return fmt.Errorf("local: export: %w", err)
		}
		return writeAtomically(out, func(f *os.File) error { return tarball.Write(ref, img, f) })
	default:
		p, err := layout.FromPath(out)
		if errors.Is(err, fs.ErrNotExist) {
			p, err = layout.Write(out, empty.Index)
		}
		if err != nil {
			return &BadInputError{Msg: fmt.Sprintf("export: %s is not an OCI image layout: %v", out, err)}
		}
		ann := map[string]string{"org.opencontainers.image.ref.name": bake.ShortKey(id)}
		if label != "" {
			ann["org.opencontainers.image.title"] = label
		}
		if err := p.AppendImage(img, layout.WithAnnotations(ann)); err != nil {
			return fmt.Errorf("local: export: %w", err)
		}
		return nil
	}
}

// ociImage is an OCI image of layers, root first, for this machine's
// architecture, its config naming the image's label and key.
func ociImage(layers []v1.Layer, label, key string) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Labels = map[string]string{LabelKey: key}
	if label != "" {
		cf.Config.Labels[LabelImage] = label
	}
	cf.Config.Env = []string{"PATH=" + stepPath}
	return mutate.ConfigFile(img, cf)
}

// writeLayerTar writes the layer dir as an OCI layer's tar to file.
func writeLayerTar(ctx context.Context, dir, file string) error {
	return writeAtomically(file, func(f *os.File) error { return archive(ctx, dir, f, true) })
}

// writeAtomically writes out through a temporary file beside it, renamed
// into place once write has succeeded.
func writeAtomically(out string, write func(f *os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return &BadInputError{Msg: fmt.Sprintf("export: cannot write %s: %v", out, pathErr(err))}
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(f.Name(), 0o644)
		}
		if err == nil {
			err = os.Rename(f.Name(), out)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	return write(f)
}

// labelOf is the label Publish recorded for image id, "" when it never
// ran.
func (b *Baker) labelOf(id string) string {
	data, err := os.ReadFile(b.store.Path("images", id+".json"))
	if err != nil {
		return ""
	}
	var rec published
	if json.Unmarshal(data, &rec) != nil {
		return ""
	}
	return rec.Label
}

// dockerRepository names an exported image for docker load:
// imgraph/<package>/<name> in the characters a repository allows.
func dockerRepository(label, id string) string {
	if label == "" {
		return "imgraph/" + bake.ShortKey(id)
	}
	var b strings.Builder
	b.WriteString("imgraph/")
	sep := false
	for _, c := range strings.ToLower(strings.TrimPrefix(label, "//")) {
		switch {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			if sep && b.Len() > len("imgraph/") {
				b.WriteByte('/')
			}
			sep = false
			b.WriteRune(c)
		default:
			sep = true
		}
	}
	return b.String()
}
