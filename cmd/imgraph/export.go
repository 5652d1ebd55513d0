package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/rules"
)

func exportCommand(e *env, opts *options) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "export LABEL OUT",
		Short: "Write a baked local image out as a tar file or a directory",
		Long: `Export writes the root filesystem of a baked image of the local platform
to OUT: a tar file (--format tar, the default) or a new directory (--format dir).
The image must be baked: run imgraph build first.`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if format != "tar" && format != "dir" {
				return usagef("--format %q: want tar or dir", format)
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
	c.Flags().StringVar(&format, "format", "tar", "tar or dir")
	return c
}
