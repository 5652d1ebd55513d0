package aws

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// stepUpload sends the artifacts to /tmp/imgraph-artifacts/<name> and each
// script to a private /tmp/imgraph-<random>/<basename>, through plain exec
// sessions: the instance needs no scp or sftp server.
type stepUpload struct{}

func (*stepUpload) Name() string { return "upload" }

func (*stepUpload) Run(ctx context.Context, s *bakeState) error {
	s.phase("upload")
	for _, name := range slices.Sorted(maps.Keys(s.job.Artifacts)) {
		src := s.job.Artifacts[name]
		info, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("artifact %q: %w", name, err)
		}
		dest := bake.ArtifactPath(name)
		if err := s.upload(ctx, "", src, dest, uint32(info.Mode().Perm()), 0o755); err != nil {
			return fmt.Errorf("artifact %q: %w", name, err)
		}
		fmt.Fprintf(s.log, "==> uploaded artifact %s to %s\n", name, dest)
	}
	s.scripts = map[int]string{}
	for i := range s.job.Image.Provision {
		p := &s.job.Image.Provision[i]
		if p.Kind != rules.ProvisionShell || p.Script == nil {
			continue
		}
		dest := bake.TempPrefix + randomHex(8) + "/" + filepath.Base(p.Script.Path)
		if err := s.upload(ctx, "", p.Script.Path, dest, 0o700, 0o700); err != nil {
			return fmt.Errorf("script %s: %w", p.Script.Label, err)
		}
		s.scripts[i] = dest
	}
	return nil
}

// Nothing to undo: the files go with the instance, and stepProvision
// removes them before the image is made.
func (*stepUpload) Cleanup(ctx context.Context, s *bakeState) error { return nil }

// upload streams the local file src to dest on the instance, making
// dest's directory with dirMode; sudo is "" or s.sudo. The file appears
// whole or not at all.
func (s *bakeState) upload(ctx context.Context, sudo, src, dest string, mode, dirMode uint32) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	dir := path.Dir(dest)
	tmp := dest + ".imgraph-" + randomHex(4)
	script := fmt.Sprintf("umask 077 && mkdir -p -m %04o %s && cat > %s && chmod %04o %s && mv -f %s %s",
		dirMode, shellQuote(dir), shellQuote(tmp), mode, shellQuote(tmp), shellQuote(tmp), shellQuote(dest))
	if err := s.run(ctx, sudo+"/bin/sh -c "+shellQuote(script), f); err != nil {
		return fmt.Errorf("uploading to %s: %w", dest, err)
	}
	return nil
}
