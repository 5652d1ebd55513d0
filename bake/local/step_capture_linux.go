package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
)

// scrub removes imgraph's own files from the tree, so that it holds what
// the image will hold before its tests see it.
func (r *bakeRun) scrub(ctx context.Context) error {
	r.phase(bake.PhaseCapture)
	step := r.tree.step()
	step.Scrub = bake.TempPrefix
	if err := r.b.run(ctx, step, r.log); err != nil {
		return fmt.Errorf("local: removing imgraph's files from the image: %w", err)
	}
	return nil
}

// capture renames the finished layer into place, having recorded the
// parent it lies on. If another bake of the same key got there first, its
// image stands and this layer is left for cleanup.
func (r *bakeRun) capture(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Written to disk before it has its name: a crash must never leave a
	// partial tree where a complete image is expected.
	if err := syncFS(r.layer); err != nil {
		return fmt.Errorf("local: syncing the image: %w", err)
	}
	// What a whole layer holds at its top: one found later with fewer
	// (or more) is damaged.
	entries, err := os.ReadDir(r.layer)
	if err != nil {
		return fmt.Errorf("local: counting the image's entries: %w", err)
	}
	parent := ""
	if len(r.lowers) > 0 {
		parent = r.job.Parent
	}
	final := r.b.ImageDir(r.job.Key)
	if ok, _ := r.b.exists(r.job.Key); ok {
		return nil // another bake of the key got there first: its parent file is its own
	}
	if err := r.b.writeParent(r.job.Key, parent); err != nil {
		return err
	}
	err = unix.Renameat2(unix.AT_FDCWD, r.layer, unix.AT_FDCWD, final, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// A file system without RENAME_NOREPLACE: renaming a directory
		// over a non-empty one fails all the same.
		err = os.Rename(r.layer, final)
	}
	if err != nil {
		if ok, _ := r.b.exists(r.job.Key); ok {
			return nil // another bake of the key got there first
		}
		return fmt.Errorf("local: capturing the image: %w", err)
	}
	// The tree is this bake's now. Until its count is written, the tree
	// counts as whole if it holds anything (as an image captured before
	// images counted their entries does).
	if err := cache.WriteFileAtomic(r.b.entriesPath(r.job.Key), []byte(strconv.Itoa(len(entries))+"\n")); err != nil {
		return fmt.Errorf("local: counting the image's entries: %w", err)
	}
	return syncFS(r.b.store.Path("images"))
}

func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
