package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/cache/remote"
	"github.com/imgraph/imgraph/engine"
)

func cacheCommand(e *env, opts *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		Short: "Create and inspect the caches",
	}
	c.AddCommand(&cobra.Command{
		Use:   "init",
		Short: "Create the shared cache's bucket and table",
		Long: `Init creates what --cache s3://BUCKET/PREFIX?table=TABLE names and does not
exist yet: the S3 bucket, and the DynamoDB table (on-demand billing) with the
key schema imgraph needs. It says what it created; run it again and it
creates nothing.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			loc := opts.cache
			if loc == "" {
				if s, err := openSession(e, opts); err == nil {
					loc = s.ws.Cache
				}
			}
			if !remote.IsURL(loc) {
				return usagef("cache init creates a shared cache: pass --cache s3://BUCKET/PREFIX?table=TABLE (a local cache needs no init)")
			}
			where, err := remote.ParseURL(loc)
			if err != nil {
				return err
			}
			created, err := remote.Init(c.Context(), where, remote.Options{Profile: opts.profile, Warn: e.warn})
			if err != nil {
				return err
			}
			if len(created) == 0 {
				fmt.Fprintf(e.stdout, "%s exists already; nothing created\n", where)
			}
			for _, what := range created {
				fmt.Fprintf(e.stdout, "created %s\n", what)
			}
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "stat",
		Short: "Show what the caches hold",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				// The cache can be inspected from outside any workspace.
				s = &session{e: e, opts: opts, runID: newRunID()}
			}
			caches, err := s.cache(c.Context())
			if err != nil {
				return err
			}
			stats := map[string]cache.Stats{}
			if stats["local"], err = caches.local.Stat(c.Context()); err != nil {
				return err
			}
			if caches.shared != nil {
				if stats["shared"], err = caches.shared.Stat(c.Context()); err != nil {
					return err
				}
			}
			if opts.output == "json" {
				return writeJSON(e.stdout, stats)
			}
			writeStats(e.stdout, "local", stats["local"])
			if caches.shared != nil {
				writeStats(e.stdout, "shared", stats["shared"])
			}
			return nil
		},
	})
	return c
}

func writeStats(w io.Writer, name string, st cache.Stats) {
	fmt.Fprintf(w, "%s cache: %s\n  records: %d\n  images:  %d labels\n  size:    %s\n", name, st.Location, st.Records, st.Labels, engine.Bytes(st.Bytes))
}
