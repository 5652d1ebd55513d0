// Package local is the local platform: it bakes root filesystems on any
// Linux machine. An image is a chain of layers in the local cache, named by
// keys (see layers.go); each provisioner runs in a sandbox
// (internal/sandbox): a chroot inside fresh mount, PID, UTS and IPC
// namespaces (entered through a user namespace when imgraph is not root), so
// nothing a step starts or mounts outlives it. Where overlayfs is available,
// a child's sandboxes mount its parent's layers read-only under a fresh
// upper directory, which becomes the child's own layer: what its
// provisioners changed. Elsewhere a bake copies its parent's tree, and its
// layer is a whole tree.
//
// Layout under the cache directory:
//
//	images/<key>/                the image's layer: a whole tree, or its changes on its parent's; it appears complete
//	images/<key>.parent          the image the layer lies on; absent for a whole tree
//	images/<key>.entries         how many entries the layer held at its top when captured
//	images/<key>.json            the tags Publish last applied
//	images/.tmp-<key>-<random>/  a bake in progress, renamed into place at the end
//	images.index                 the layers seen whole, and their parents, by what stat said of their directories
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
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/parallel"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/rules"
)

// Options tune a Baker.
type Options struct {
	// Warn receives warnings, such as a device node that could not be
	// copied; it may be nil.
	Warn func(format string, args ...any)
}

// Baker bakes images on this machine. It is safe for concurrent use, by
// several goroutines and by several imgraph processes sharing one cache.
type Baker struct {
	Platform
	store   *cache.Local
	warn    func(format string, args ...any)
	sandbox *sandbox.Sandbox // where every step of a bake runs

	wholeOnce  sync.Once
	wholeIndex *cache.FileIndex // the layers seen whole, by their directory's stat; see whole
	copyOnce   sync.Once        // says once that bakes copy trees (see newTree)
	copyTrees  bool             // copy trees even where overlays work (benchmarks compare)
}

var _ bake.Baker = (*Baker)(nil)

// BadInputError is a bake the local platform cannot do here, for a reason
// the user has to fix (exit code 2).
type BadInputError struct {
	Msg  string
	Hint string
}

func (e *BadInputError) Error() string {
	if e.Hint == "" {
		return "local: " + e.Msg
	}
	return "local: " + e.Msg + "\n  hint: " + e.Hint
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *BadInputError) BadInput() bool { return true }

// ImageDir is where a baked image's own layer is (or would be): its whole
// tree only when it lies on no parent.
func (b *Baker) ImageDir(id string) string {
	return b.store.Path("images", id)
}

// checkID rejects ids that are not keys, so an id can never name a path
// outside the images directory.
func checkID(id string) error {
	if len(id) == 0 || len(id) > 128 {
		return fmt.Errorf("local: %q is not an image id (a hex key)", id)
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("local: %q is not an image id (a hex key)", id)
		}
	}
	return nil
}

// existParallelism bounds the images looked at at once.
const existParallelism = 8

// imageState is what stands at an image's place.
type imageState int

const (
	absent  imageState = iota // nothing
	whole                     // a baked image, whole
	damaged                   // a tree emptied or cut down since, or a file
)

// state says what stands at id's place: a whole image is a directory
// holding as many entries at its top as when it was captured (see
// entriesPath). An error is an error reading it (permission denied, an
// I/O error): the image may be whole, so nothing may be done to it.
func (b *Baker) state(id string) (imageState, error) {
	if checkID(id) != nil {
		return absent, nil
	}
	dir := b.ImageDir(id)
	d, err := os.Open(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return absent, nil
	case errors.Is(err, syscall.ENOTDIR):
		return damaged, nil
	case err != nil:
		return absent, fmt.Errorf("local: reading image %s: %w", bake.ShortKey(id), err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if errors.Is(err, syscall.ENOTDIR) {
		return damaged, nil
	}
	if err != nil {
		return absent, fmt.Errorf("local: reading image %s: %w", bake.ShortKey(id), err)
	}
	data, err := os.ReadFile(b.entriesPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		// Captured before images counted their entries, or just renamed
		// into place and not yet counted.
		if len(names) > 0 {
			return whole, nil
		}
		return damaged, nil
	}
	if err != nil {
		return absent, fmt.Errorf("local: reading image %s: %w", bake.ShortKey(id), err)
	}
	if want, err := strconv.Atoi(strings.TrimSpace(string(data))); err != nil || len(names) != want {
		return damaged, nil
	}
	return whole, nil
}

// exists reports whether id is a baked image whose every layer is whole;
// an error is one reading it.
func (b *Baker) exists(id string) (bool, error) {
	_, err := b.chain(id)
	var broken *brokenChainError
	if errors.As(err, &broken) {
		return false, nil
	}
	return err == nil, err
}

// entriesPath is where the number of entries at the top of an image's
// tree is kept when it is captured: images/<key>.entries.
func (b *Baker) entriesPath(id string) string {
	return b.store.Path("images", id+".entries")
}

// Exist reports which images are baked, whole, and are their key's: a
// local image's id is its key. Regions are only names on this machine:
// an image exists in every region or in none.
func (b *Baker) Exist(ctx context.Context, images []bake.ImageRef) (map[bake.ImageRef]bool, error) {
	ok, err := b.whole(ctx, len(images), func(i int) string { return images[i].ID })
	if err != nil {
		return nil, err
	}
	out := make(map[bake.ImageRef]bool, len(images))
	for i, ref := range images {
		out[ref] = ref.ID == ref.Key && ok[i]
	}
	return out, nil
}

// Find reports the keys whose images are baked on this machine: an image's
// id is its key, so the image store remembers what a lost cache forgot.
func (b *Baker) Find(ctx context.Context, regions []string, keys []string) (map[string]map[string]string, error) {
	ok, err := b.whole(ctx, len(keys), func(i int) string { return keys[i] })
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for i, key := range keys {
		if !ok[i] {
			continue
		}
		out[key] = make(map[string]string, len(regions))
		for _, r := range regions {
			out[key][r] = key
		}
	}
	return out, nil
}

// whole reports, for each of n image ids, whether it is a baked image,
// whole. Looking at an image reads its tree's top and its count of
// entries; an image seen whole is remembered by what stat says of its
// tree (whose times move when an entry at its top comes or goes), so a
// plan of thousands of images unchanged since costs a stat each. The
// images are looked at by a few workers.
func (b *Baker) whole(ctx context.Context, n int, id func(i int) string) ([]bool, error) {
	b.wholeOnce.Do(func() { b.wholeIndex = b.store.Index("images.index") })
	ok := make([]bool, n)
	err := parallel.ForEach(ctx, existParallelism, n, func(i int) (err error) {
		ok[i], err = b.seenWhole(id(i))
		return err
	})
	if err != nil {
		return nil, err
	}
	// Only a cache: a failure costs looks next time.
	if err := b.wholeIndex.Save(); err != nil {
		b.warn("local: %v", err)
	}
	return ok, nil
}

// seenWhole is exists, answered by the index when it can be. An image
// whose own layer is whole but lies on one that is not is a miss, with a
// warning: it bakes again once its parent has.
func (b *Baker) seenWhole(id string) (bool, error) {
	if checkID(id) != nil {
		return false, nil
	}
	layer := id
	for range maxChain {
		ok, parent, err := b.seenLayer(layer)
		if err != nil || !ok {
			if err == nil && layer != id {
				b.warn("%v", &brokenChainError{id: id, layer: layer, why: "is missing or damaged"})
			}
			return false, err
		}
		if parent == "" {
			return true, nil
		}
		layer = parent
	}
	b.warn("%v", &brokenChainError{id: id, why: fmt.Sprintf("its chain of layers is longer than %d (do its parents loop?)", maxChain)})
	return false, nil
}

// seenLayer reports whether id's own layer is whole, and the parent it
// lies on: the index remembers both by what stat says of the layer's
// directory, since a layer names its parent before it has its name and
// never changes after.
func (b *Baker) seenLayer(id string) (ok bool, parent string, err error) {
	dir := b.ImageDir(id)
	before, err := os.Lstat(dir)
	if err != nil || !before.IsDir() {
		st, err := b.state(id)
		return st == whole, "", err
	}
	if v, ok := b.wholeIndex.Lookup(id, before); ok {
		if parent, ok := strings.CutPrefix(v, "whole"); ok {
			return true, strings.TrimSpace(parent), nil
		}
	}
	st, err := b.state(id)
	if err != nil || st != whole {
		return false, "", err
	}
	if parent, err = b.parentOf(id); err != nil {
		var broken *brokenChainError
		if errors.As(err, &broken) {
			b.warn("%v", err)
			return false, "", nil
		}
		return false, "", err
	}
	if after, err := os.Lstat(dir); err == nil {
		b.wholeIndex.Store(id, before, after, strings.TrimSpace("whole "+parent))
	}
	return true, parent, nil
}

// Copy returns the image's own id: every region shares this machine's tree.
func (b *Baker) Copy(ctx context.Context, job *bake.CopyJob) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if ok, err := b.exists(job.ID); err != nil || !ok {
		return "", cmp.Or(err, fmt.Errorf("local: copy to %s: image %s is not baked on this machine", job.To, job.ID))
	}
	return job.ID, nil
}

// published is what images/<key>.json holds.
type published struct {
	ID          string            `json:"id"`
	Label       string            `json:"label,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags"`
}

// Publish records the image's tags beside its tree; nothing is written into
// the image, so publishing never changes what was baked.
func (b *Baker) Publish(ctx context.Context, job *bake.PublishJob) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ok, err := b.exists(job.ID); err != nil || !ok {
		return cmp.Or(err, fmt.Errorf("local: publish: image %s is not baked on this machine", job.ID))
	}
	rec := published{ID: job.ID, Tags: job.Tags}
	if rec.Tags == nil {
		rec.Tags = map[string]string{}
	}
	if job.Image != nil {
		rec.Label = job.Image.Label.String()
		rec.Description = job.Image.Description
	}
	data, err := json.MarshalIndent(&rec, "", "  ")
	if err != nil {
		return fmt.Errorf("local: publish %s: %w", job.ID, err)
	}
	dir := b.store.Path("images")
	f, err := os.CreateTemp(dir, ".tmp-publish-"+job.ID+"-*")
	if err != nil {
		return fmt.Errorf("local: publish %s: %w", job.ID, err)
	}
	_, werr := f.Write(append(data, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), filepath.Join(dir, job.ID+".json"))
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("local: publish %s: %w", job.ID, werr)
	}
	return nil
}

// Resolve fails: a local image starts from a root filesystem, never from a
// source that floats.
func (b *Baker) Resolve(ctx context.Context, region string, src *rules.Source) (bake.Resolved, error) {
	what := "a floating source"
	if src != nil {
		what = string(src.Kind)
	}
	return bake.Resolved{}, &BadInputError{
		Msg:  fmt.Sprintf("the local platform has no floating sources: cannot resolve %s in %s", what, region),
		Hint: `give local images a rootfs(path = ...) or rootfs(url = ..., sha256 = ...) source, e.g. with select({"local": rootfs(...), "aws": ...})`,
	}
}
