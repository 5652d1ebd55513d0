package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
)

// version is set at link time by release builds (-X main.version=...).
var version = "dev"

func versionCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print imgraph's version",
		Args:  cobra.NoArgs,
		Run: func(c *cobra.Command, args []string) {
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
				v = info.Main.Version
			}
			fmt.Fprintf(e.stdout, "imgraph %s (key schema %s)\n", v, engine.KeySchema)
		},
	}
}
