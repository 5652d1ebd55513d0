// Package prebaked fills a local cache as if every image of a workspace
// had been baked on the local platform, so that measurements can start
// from a build with nothing to do.
package prebaked

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/parallel"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// Records are the records a local build of every image of the workspace
// at dir would leave, each given the distribution its image declares.
func Records(ctx context.Context, dir string) ([]*cache.Record, error) {
	ws, err := rules.FindWorkspace(dir)
	if err != nil {
		return nil, err
	}
	l, err := rules.NewLoader(ws, rules.Config{Platform: rules.PlatformLocal})
	if err != nil {
		return nil, err
	}
	a, err := engine.Analyze(ctx, l, engine.AnalyzeOptions{
		Patterns: []label.Pattern{{Recursive: true, Selects: label.Rules}}, Platform: local.Platform{}})
	if err != nil {
		return nil, err
	}
	var recs []*cache.Record
	for _, lbl := range a.Closure {
		k, im := a.Keys[lbl], a.Graph.Images[lbl]
		inputs, err := json.Marshal(k.Parts)
		if err != nil {
			return nil, err
		}
		images := map[string]string{}
		for _, r := range im.Regions {
			images[r] = k.Hex
		}
		want := local.Platform{}.Distribution(bake.Want(im))
		recs = append(recs, &cache.Record{Key: k.Hex, Label: lbl.String(), Platform: rules.PlatformLocal, Images: images,
			Tags: want.Tags, ShareWith: want.ShareWith, PublishSSM: want.PublishSSM, Inputs: inputs,
			RunID: "prebaked", Created: time.Now().UTC()})
	}
	return recs, nil
}

// Images puts the image of each record in the local cache at cacheDir, as
// a local bake leaves it: a tree (of one directory) and its count of
// entries.
func Images(ctx context.Context, cacheDir string, recs []*cache.Record) error {
	return parallel.ForEach(ctx, 8, len(recs), func(i int) error {
		key := recs[i].Key
		if err := os.MkdirAll(filepath.Join(cacheDir, "images", key, "etc"), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(cacheDir, "images", key+".entries"), []byte("1\n"), 0o644)
	})
}

// Fill makes the local cache at cacheDir hold every image of the workspace
// at dir as baked: its record and its image.
func Fill(ctx context.Context, dir, cacheDir string) (int, error) {
	recs, err := Records(ctx, dir)
	if err != nil {
		return 0, err
	}
	store, err := cache.OpenLocal(cacheDir, nil)
	if err != nil {
		return 0, err
	}
	err = parallel.ForEach(ctx, 8, len(recs), func(i int) error { return store.Put(ctx, recs[i]) })
	if err != nil {
		return 0, err
	}
	return len(recs), Images(ctx, cacheDir, recs)
}
