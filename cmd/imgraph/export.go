package main

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/rules"
)

func exportCommand(e *env, opts *options) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "export LABEL OUT",
		Short: "Write a baked local image out: a tar, a directory, or an OCI image",
		Long: `Export writes a baked image of the local platform to OUT: its root
filesystem as a tar file (--format tar, the default) or a new directory
(--format dir), its layers flattened; or an OCI image whose layers are the
image's and its ancestors' (--format oci adds it to the OCI image layout OUT,
made if need be; --format docker-archive writes the tar docker load and
podman load read). Images that share a parent share its layers' blobs, and
the image's config names its label and key (labels org.imgraph.image and
org.imgraph.key). The image must be baked: run imgraph build first.`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if !slices.Contains(exportFormats, format) {
				return usagef("--format %q: want tar, dir, oci or docker-archive", format)
			}
			if args[1] == "" {
				return usagef("export needs a file (or, with --format dir, a directory) to write to, not \"\"")
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			if s.loader.Platform() != rules.PlatformLocal {
				return usagef("export writes images of the local platform; this build is for %s (use --platform local)", s.loader.Platform())
			}
			l, err := s.single("export", args[0])
			if err != nil {
				return err
			}
			a, err := s.analyze(c.Context(), []string{l.String()})
			if err != nil {
				return err
			}
			caches, err := s.cache(c.Context())
			if err != nil {
				return err
			}
			key := a.Keys[l].Hex
			recs, err := caches.store.Get(c.Context(), []string{key})
			if err != nil {
				return err
			}
			rec := recs[key]
			if rec == nil {
				return usagef("%s is not baked (key %s)\n  hint: run `imgraph build %s` first", l, bake.ShortKey(key), l)
			}
			baker, err := local.New(caches.local, local.Options{Warn: e.warn})
			if err != nil {
				return err
			}
			out := args[1]
			if !filepath.IsAbs(out) {
				out = filepath.Join(e.dir, out)
			}
			if err := baker.Export(c.Context(), rec.Images[a.Result.Workspace.HomeRegion], format, out); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "exported %s (key %s) to %s\n", l, bake.ShortKey(key), args[1])
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "tar", "tar, dir, oci (an OCI image layout) or docker-archive")
	c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(exportFormats, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// exportFormats are what export --format takes.
var exportFormats = []string{"tar", "dir", "oci", "docker-archive"}
