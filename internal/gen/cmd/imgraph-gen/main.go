// Command imgraph-gen writes a synthetic workspace (see package gen), for
// measuring imgraph from outside, as a user runs it:
//
//	go run ./internal/gen/cmd/imgraph-gen -images 10000 -packages 1000 -depth 6 -fanout 4 -script-bytes 1024 -shared 50 DIR
//
// The flags' defaults are the benchmark configuration of the README's
// performance figures.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/imgraph/imgraph/internal/gen"
)

func main() {
	var c gen.Config
	flag.IntVar(&c.Images, "images", 10000, "images in all")
	flag.IntVar(&c.Packages, "packages", 0, "packages to spread them over (default images/10)")
	flag.IntVar(&c.Depth, "depth", 6, "the longest parent chain")
	flag.IntVar(&c.FanOut, "fanout", 4, "children per parent")
	flag.IntVar(&c.ScriptBytes, "script-bytes", 1024, "size of each script")
	flag.IntVar(&c.SharedFiles, "shared", 50, "scripts shared between packages")
	flag.Int64Var(&c.Seed, "seed", 1, "seeds every random choice")
	flag.StringVar(&c.Platform, "platform", "local", "local or aws")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: imgraph-gen [flags] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	st, err := gen.Write(flag.Arg(0), c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d images in %d packages, %d files\n", flag.Arg(0), st.Images, st.Packages, st.Files)
}
