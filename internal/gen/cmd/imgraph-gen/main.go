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
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/gen"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
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
		if err := bakeAll(dir, baked); err != nil {
			fail(err)
		}
		fmt.Printf("%s: every image recorded as baked\n", baked)
	}
}

// bakeAll records every image of the workspace at dir in the local cache
// at cacheDir as a local bake would: its record, and its image tree.
func bakeAll(dir, cacheDir string) error {
	ctx := context.Background()
	ws, err := rules.FindWorkspace(dir)
	if err != nil {
		return err
	}
	l, err := rules.NewLoader(ws, rules.Config{Platform: rules.PlatformLocal})
	if err != nil {
		return err
	}
	a, err := engine.Analyze(ctx, l, engine.AnalyzeOptions{
		Patterns: []label.Pattern{{Recursive: true, Selects: label.Rules}}, Platform: local.Platform{}})
	if err != nil {
		return err
	}
	store, err := cache.OpenLocal(cacheDir, nil)
	if err != nil {
		return err
	}
	for lbl, k := range a.Keys {
		im := a.Graph.Images[lbl]
		inputs, err := json.Marshal(k.Parts)
		if err != nil {
			return err
		}
		images := map[string]string{}
		for _, r := range im.Regions {
			images[r] = k.Hex
		}
		want := local.Platform{}.Distribution(bake.Want(im))
		rec := &cache.Record{Key: k.Hex, Label: lbl.String(), Platform: rules.PlatformLocal, Images: images,
			Tags: want.Tags, ShareWith: want.ShareWith, PublishSSM: want.PublishSSM, Inputs: inputs,
			RunID: "imgraph-gen", Created: time.Now().UTC()}
		if err := store.Put(ctx, rec); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(cacheDir, "images", k.Hex, "etc"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(cacheDir, "images", k.Hex+".entries"), []byte("1\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "imgraph-gen:", err)
	os.Exit(1)
}
