package local

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/sandbox"
)

var _ bake.Retirer = (*Baker)(nil)

// retiredRegion is the region the images of this machine are listed in:
// one tree serves every region.
const retiredRegion = "local"

// Baked lists the whole images of this machine, each with the label its
// last Publish recorded (images/<key>.json), when it was captured (its
// count of entries was written then) and the space its tree takes.
// Regions are only names here: each image is listed once.
func (b *Baker) Baked(ctx context.Context, regions []string) ([]bake.BakedImage, error) {
	entries, err := os.ReadDir(b.store.Path("images"))
	if err != nil {
		return nil, fmt.Errorf("local: listing images: %w", err)
	}
	var out []bake.BakedImage
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := e.Name()
		if !e.IsDir() || checkID(id) != nil {
			continue // a bake in progress (.tmp-…), or not an image
		}
		st, err := b.state(id)
		if err != nil {
			return nil, err
		}
		if st != whole {
			continue // damaged: the next bake of its key replaces it
		}
		img := bake.BakedImage{Key: id, Region: retiredRegion, ID: id}
		if pub, err := b.published(id); err == nil {
			img.Label = pub.Label
			if k := pub.Tags[bake.TagKey]; k != "" && k != id {
				img.Label = "" // not this key's: leave it be
			}
		}
		if fi, err := os.Stat(b.entriesPath(id)); err == nil {
			img.Created = fi.ModTime()
		} else if fi, err := os.Stat(b.ImageDir(id)); err == nil {
			img.Created = fi.ModTime()
		}
		if img.LiesOn, err = b.parentOf(id); err != nil {
			var broken *brokenChainError
			if !errors.As(err, &broken) {
				return nil, err
			}
			img.LiesOn = "" // damaged: the next bake of its key replaces it
		}
		if img.Bytes, err = treeBytes(ctx, b.ImageDir(id)); err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// published reads what Publish last recorded of an image.
func (b *Baker) published(id string) (*published, error) {
	data, err := os.ReadFile(b.store.Path("images", id+".json"))
	if err != nil {
		return nil, err
	}
	var p published
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// treeBytes is the space a tree takes on disk, each file counted once
// however many links it has.
func treeBytes(ctx context.Context, dir string) (int64, error) {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			n += fi.Size()
			return nil
		}
		if st.Nlink > 1 && !fi.IsDir() {
			if seen[inode{uint64(st.Dev), st.Ino}] {
				return nil
			}
			seen[inode{uint64(st.Dev), st.Ino}] = true
		}
		n += st.Blocks * 512
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("local: measuring %s: %w", dir, err)
	}
	return n, nil
}

// Published is empty: a local image is published to no parameter.
func (b *Baker) Published(ctx context.Context, region string, names []string) (map[string]string, error) {
	return map[string]string{}, ctx.Err()
}

// Retire removes an image's tree from the cache: the tree is first
// renamed aside, so it is gone at once and whole until then, then its
// count of entries and its tags go, then the tree itself. An image gone
// already is no error; one whose recorded label changed is left.
func (b *Baker) Retire(ctx context.Context, img bake.BakedImage) (bake.Retired, error) {
	var done bake.Retired
	if err := checkID(img.ID); err != nil {
		return done, err
	}
	if err := ctx.Err(); err != nil {
		return done, err
	}
	st, err := b.state(img.ID)
	if err != nil {
		return done, err
	}
	if st == absent {
		done.Gone = true
		return done, nil
	}
	if pub, err := b.published(img.ID); err == nil && pub.Label != img.Label {
		return done, &bake.StillWantedError{ID: img.ID, Reason: fmt.Sprintf("it is recorded as %s now", pub.Label)}
	}
	// A layer other images lie on is theirs too: it stays while they do,
	// and while work in progress reads it.
	if still, err := b.stillNeeded(img.ID); err != nil || still != nil {
		return done, cmp.Or(err, error(still))
	}
	aside := b.store.Path("images", ".tmp-retired-"+img.ID+"-"+randomHex())
	if err := os.Rename(b.ImageDir(img.ID), aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			done.Gone = true // another gc got there first
			return done, nil
		}
		return done, fmt.Errorf("local: removing image %s: %w", bake.ShortKey(img.ID), err)
	}
	// Work that looked at the layer before it went aside holds it (see
	// hold): look again, and put it back for that work.
	if still, err := b.stillNeeded(img.ID); err != nil || still != nil {
		if rerr := os.Rename(aside, b.ImageDir(img.ID)); rerr != nil {
			return done, fmt.Errorf("local: image %s, moved aside to %s, is still needed (%v) and could not be put back: %w",
				bake.ShortKey(img.ID), aside, cmp.Or(err, error(still)), rerr)
		}
		return done, cmp.Or(err, error(still))
	}
	done.Gone = true
	// Its count goes after it, never before (see removeDamaged); its
	// parent and tags last, once nothing stands in its place.
	for _, f := range []string{b.entriesPath(img.ID), b.parentPath(img.ID), b.store.Path("images", img.ID+".json")} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return done, fmt.Errorf("local: removing image %s: %w", bake.ShortKey(img.ID), err)
		}
	}
	done.Freed = img.Bytes
	if err := sandbox.RemoveTree(aside); err != nil {
		return done, fmt.Errorf("local: image %s is gone, but its tree %s is left: %w", bake.ShortKey(img.ID), aside, err)
	}
	b.sweepRetired()
	return done, nil
}

// stillNeeded says why id's layer must stay, nil when nothing needs it:
// the images whose layers lie on it, and work in progress that holds it
// (a bake, a test or an export).
func (b *Baker) stillNeeded(id string) (*bake.StillWantedError, error) {
	children, holders, err := b.liesOn(id)
	if err != nil || len(children)+len(holders) == 0 {
		return nil, err
	}
	var why []string
	if len(children) > 0 {
		why = append(why, fmt.Sprintf("%s %s on its layer", strings.Join(shortKeys(children), ", "), plural(len(children), "lies", "lie")))
	}
	if len(holders) > 0 {
		why = append(why, fmt.Sprintf("work in progress reads it (%s)", strings.Join(holders, ", ")))
	}
	return &bake.StillWantedError{ID: id, NeededBy: append(children, holders...), Reason: strings.Join(why, "; ")}, nil
}

// liesOn lists the images whose layers lie on id's, directly, and the
// directories of work in progress that hold it.
func (b *Baker) liesOn(id string) (children, holders []string, err error) {
	entries, err := os.ReadDir(b.store.Path("images"))
	if err != nil {
		return nil, nil, fmt.Errorf("local: listing images: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") && e.IsDir() {
			data, err := os.ReadFile(b.store.Path("images", name, holdFile))
			if err == nil && slices.Contains(strings.Fields(string(data)), id) {
				holders = append(holders, name)
			}
			continue
		}
		child, ok := strings.CutSuffix(name, ".parent")
		if !ok || checkID(child) != nil {
			continue
		}
		parent, err := b.parentOf(child)
		if err != nil || parent != id {
			continue // a damaged parent file names no layer to keep
		}
		if st, err := b.state(child); err != nil || st != absent {
			children = append(children, child)
		}
	}
	return children, holders, nil
}

func shortKeys(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "image " + bake.ShortKey(id)
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// sweepRetired removes the trees a killed gc left aside: they are gone
// as images already, and nothing else removes them. Another gc removing
// one at the same time is no harm: both remove.
func (b *Baker) sweepRetired() {
	entries, err := os.ReadDir(b.store.Path("images"))
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-retired-") {
			if err := sandbox.RemoveTree(b.store.Path("images", e.Name())); err != nil {
				b.warn("local: removing %s, which a gc left: %v", e.Name(), err)
			}
		}
	}
}
