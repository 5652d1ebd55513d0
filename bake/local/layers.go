package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
)

// An image's tree is its chain of layers: its own layer, then its
// parent's, down to a layer that is a whole tree. A layer baked on an
// overlay holds what the image's provisioners changed on its parent's tree
// (with overlayfs's whiteouts and opaque directories); images/<key>.parent
// names that parent. A layer without one is a whole tree: an image baked
// from a root filesystem, or where overlays are not available.

// maxChain bounds a chain's length, so a damaged cache whose parents loop
// is a damaged image rather than a hang.
const maxChain = 256

// parentPath is where a layer names the image it lies on.
func (b *Baker) parentPath(id string) string {
	return b.store.Path("images", id+".parent")
}

// parentOf is the image id's layer lies on, "" when its layer is a whole
// tree.
func (b *Baker) parentOf(id string) (string, error) {
	data, err := os.ReadFile(b.parentPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("local: reading the parent of image %s: %w", bake.ShortKey(id), err)
	}
	parent := strings.TrimSpace(string(data))
	if checkID(parent) != nil || parent == id {
		return "", &brokenChainError{id: id, why: fmt.Sprintf("its layer names %q as its parent", parent)}
	}
	return parent, nil
}

// writeParent records that id's layer lies on parent's, before the layer
// has its name: a layer never appears without it.
func (b *Baker) writeParent(id, parent string) error {
	if parent == "" {
		// A whole tree: a parent left by a bake that never finished
		// would make it a layer of changes.
		if err := os.Remove(b.parentPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("local: %w", err)
		}
		return nil
	}
	return cache.WriteFileAtomic(b.parentPath(id), []byte(parent+"\n"))
}

// brokenChainError is an image one of whose layers is missing, damaged or
// names no parent that can be.
type brokenChainError struct {
	id, layer, why string
}

func (e *brokenChainError) Error() string {
	if e.layer != "" && e.layer != e.id {
		return fmt.Sprintf("local: image %s lies on layer %s, which %s", bake.ShortKey(e.id), bake.ShortKey(e.layer), e.why)
	}
	return fmt.Sprintf("local: image %s: %s", bake.ShortKey(e.id), e.why)
}

// chain lists the layers of image id, its own first, each checked whole.
// A layer missing or damaged anywhere in it is a *brokenChainError.
func (b *Baker) chain(id string) ([]string, error) {
	var ids []string
	for layer := id; layer != ""; {
		if len(ids) == maxChain {
			return nil, &brokenChainError{id: id, why: fmt.Sprintf("its chain of layers is longer than %d (do its parents loop?)", maxChain)}
		}
		st, err := b.state(layer)
		if err != nil {
			return nil, err
		}
		if st != whole {
			why := "is missing"
			if st == damaged {
				why = "is damaged"
			}
			return nil, &brokenChainError{id: id, layer: layer, why: why}
		}
		ids = append(ids, layer)
		if layer, err = b.parentOf(layer); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// layerDirs are the directories of the layers of image id, its own first.
func (b *Baker) layerDirs(id string) ([]string, error) {
	ids, err := b.chain(id)
	if err != nil {
		return nil, err
	}
	dirs := make([]string, len(ids))
	for i, l := range ids {
		dirs[i] = b.ImageDir(l)
	}
	return dirs, nil
}
