package local

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/sandbox"
)

// prepare makes the tree the provisioners run in: an overlay of the
// parent's layers with an upper directory of the bake's own (or a copy of
// the parent's tree, never the tree itself), or the root filesystem of the
// source, with the artifacts placed under /tmp/imgraph-artifacts.
func (r *bakeRun) prepare(ctx context.Context) error {
	r.phase(bake.PhasePrepare)
	job := r.job
	switch {
	case job.Parent != "":
		if err := checkID(job.Parent); err != nil {
			return err
		}
		layers, err := r.b.layerDirs(job.Parent)
		var broken *brokenChainError
		if errors.As(err, &broken) {
			return fmt.Errorf("local: parent image %s of %s is not baked on this machine: %w", job.Parent, job.Image.Label, err)
		}
		if err != nil {
			return err
		}
		if r.tree, r.layer, r.lowers, err = r.b.newTree(ctx, layers, r.tmp); err != nil {
			return fmt.Errorf("local: a tree on parent image %s: %w", bake.ShortKey(job.Parent), err)
		}
	case job.SourceFile != "":
		info, err := os.Stat(job.SourceFile)
		if err != nil {
			return &BadInputError{Msg: fmt.Sprintf("%s: rootfs: %v", job.Image.Label, err)}
		}
		r.tree, r.layer = tree{root: r.tmp}, r.tmp
		if info.IsDir() {
			if err := r.copyTree(ctx, job.SourceFile); err != nil {
				return fmt.Errorf("local: copying rootfs %s: %w", job.SourceFile, err)
			}
			break
		}
		if err := os.Mkdir(r.tmp, 0o755); err != nil {
			return fmt.Errorf("local: %w", err)
		}
		// Unpacked in the sandbox: inside its chroot no entry of the
		// archive can name a path on the host.
		step := &sandbox.Step{Root: r.tmp, Tarball: job.SourceFile, Owners: !r.b.sandbox.UserNamespace()}
		if err := r.b.run(ctx, step, r.log); err != nil {
			return fmt.Errorf("local: unpacking rootfs: %w", err)
		}
	default:
		what := "no source"
		if job.Source != nil {
			what = fmt.Sprintf("a %s source", job.Source.Kind)
		}
		return &BadInputError{
			Msg:  fmt.Sprintf("%s has %s: the local platform bakes from a parent image or a root filesystem", job.Image.Label, what),
			Hint: `give it source = rootfs(path = ...), or select({"local": rootfs(...), "aws": ...})`,
		}
	}
	if len(job.Artifacts) == 0 {
		return nil
	}
	step := r.tree.step()
	for _, name := range slices.Sorted(maps.Keys(job.Artifacts)) {
		step.Place = append(step.Place, sandbox.Placement{
			Src: job.Artifacts[name], Dest: bake.ArtifactPath(name), Mode: -1, DirMode: 0o755,
		})
	}
	if err := r.b.run(ctx, step, r.log); err != nil {
		return fmt.Errorf("local: placing artifacts: %w", err)
	}
	return nil
}

// copyTree copies src to the new tree, ownership included when imgraph is
// root.
func (r *bakeRun) copyTree(ctx context.Context, src string) error {
	return r.b.sandbox.CopyTree(ctx, src, r.tmp, r.b.warn)
}
