// Command imgraph-gen writes a synthetic workspace (see package gen), for
// measuring imgraph from outside, as a user runs it:
//
//	go run ./internal/gen/cmd/imgraph-gen -images 10000 DIR
//	go run ./internal/gen/cmd/imgraph-gen -images 10000 -baked CACHE DIR
//
// The flags' defaults are the benchmark configuration of the README's
// performance figures. With -baked, the local cache directory CACHE is
// made to hold every image as if a build had baked it on the local
// platform (a record, and an image tree of one directory), so that a
// build or plan of DIR with --cache CACHE is a no-op.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/internal/gen/prebaked"
)

func main() {
	var c gen.Config
	var baked string
	flag.IntVar(&c.Images, "images", 10000, "images in all")
	flag.IntVar(&c.Packages, "packages", 0, "packages to spread them over (default images/10)")
	flag.IntVar(&c.Depth, "depth", 6, "the longest parent chain")
	flag.IntVar(&c.FanOut, "fanout", 4, "children per parent")
	flag.IntVar(&c.ScriptBytes, "script-bytes", 1024, "size of each script")
	flag.IntVar(&c.SharedFiles, "shared", 50, "scripts shared between packages")
	flag.Int64Var(&c.Seed, "seed", 1, "seeds every random choice")
	flag.StringVar(&baked, "baked", "", "a local cache directory to fill as if every image were baked")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: imgraph-gen [flags] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir := flag.Arg(0)
	st, err := gen.Write(dir, c)
	if err != nil {
		fail(err)
	}
	fmt.Printf("%s: %d images in %d packages, %d files\n", dir, st.Images, st.Packages, st.Files)
	if baked != "" {
		n, err := prebaked.Fill(context.Background(), dir, baked)
		if err != nil {
			fail(err)
		}
		fmt.Printf("%s: %d images recorded as baked\n", baked, n)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "imgraph-gen:", err)
	os.Exit(1)
}
