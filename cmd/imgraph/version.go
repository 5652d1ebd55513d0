package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
)

// version is set at link time by release builds (-X main.version=...).
var version = "dev"

func versionCommand(e *env, opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print imgraph's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			v := versionString()
			if opts.output == "json" {
				return writeJSON(e.stdout, struct {
					Version   string `json:"version"`
					KeySchema string `json:"key_schema"`
				}{v, engine.KeySchema})
			}
			fmt.Fprintf(e.stdout, "imgraph %s (key schema %s)\n", v, engine.KeySchema)
			return nil
		},
	}
}

// versionString is imgraph's version: stamped at link time by a release
// build, else the module's version when built by `go install`, else "dev".
func versionString() string {
	if info, ok := debug.ReadBuildInfo(); ok && version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}
