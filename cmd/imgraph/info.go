package main

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/cache/remote"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/rules"
)

// infoJSON is what `imgraph info` says, as --output json prints it.
type infoJSON struct {
	Workspace   string `json:"workspace"`
	OutputDir   string `json:"output_dir"`
	Platform    string `json:"platform"`
	HomeRegion  string `json:"home_region"`
	Cache       string `json:"cache"`       // the local cache's directory
	CacheBytes  int64  `json:"cache_bytes"` // all it holds, image trees included
	SharedCache string `json:"shared_cache,omitempty"`
	Version     string `json:"version"`
	KeySchema   string `json:"key_schema"`
}

func infoCommand(e *env, opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Print the workspace, its output directory, the caches and the version",
		Long: `Info prints what imgraph would work with here, as bazel info does: the
workspace root, its output directory, the platform and home region, the
local cache's directory and size (and the shared cache, if one is named),
and imgraph's version and key schema. It reads no IMAGES.star but the
workspace's.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			local, err := s.localCache()
			if err != nil {
				return err
			}
			st, err := local.Stat(c.Context())
			if err != nil {
				return err
			}
			info := infoJSON{
				Workspace: s.ws.Root, OutputDir: filepath.Join(s.ws.Root, rules.OutDir),
				Platform: s.platform.Name(), HomeRegion: s.ws.HomeRegion,
				Cache: local.Dir(), CacheBytes: st.Bytes,
				Version: versionString(), KeySchema: engine.KeySchema,
			}
			if loc := s.cacheLocation(); remote.IsURL(loc) {
				info.SharedCache = loc
			}
			if opts.output == "json" {
				return writeJSON(e.stdout, info)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "workspace:\t%s\n", info.Workspace)
			fmt.Fprintf(tw, "output_dir:\t%s\n", info.OutputDir)
			fmt.Fprintf(tw, "platform:\t%s\n", info.Platform)
			fmt.Fprintf(tw, "home_region:\t%s\n", info.HomeRegion)
			fmt.Fprintf(tw, "cache:\t%s (%s)\n", info.Cache, engine.Bytes(info.CacheBytes))
			if info.SharedCache != "" {
				fmt.Fprintf(tw, "shared_cache:\t%s\n", info.SharedCache)
			}
			fmt.Fprintf(tw, "version:\t%s (key schema %s)\n", info.Version, info.KeySchema)
			return tw.Flush()
		},
	}
}
