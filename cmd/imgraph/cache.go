package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func cacheCommand(e *env, opts *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		Short: "Inspect the cache",
	}
	c.AddCommand(&cobra.Command{
		Use:   "stat",
		Short: "Show what the cache holds",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				// The cache can be inspected from outside any workspace.
				s = &session{}
			}
			store, err := openCache(e, opts, s.ws)
			if err != nil {
				return err
			}
			st, err := store.Stat(c.Context())
			if err != nil {
				return err
			}
			if opts.output == "json" {
				return writeJSON(e.stdout, st)
			}
			fmt.Fprintf(e.stdout, "cache:   %s\nrecords: %d\nimages:  %d labels\nsize:    %s\n", st.Location, st.Records, st.Labels, humanBytes(st.Bytes))
			return nil
		},
	})
	return c
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
