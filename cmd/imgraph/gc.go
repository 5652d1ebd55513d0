package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/rules"
)

// gcFlags are the policy flags of `imgraph gc`.
type gcFlags struct {
	keep          int
	olderThan     time.Duration
	dryRun        bool
	includeShared bool
}

func gcCommand(e *env, opts *options) *cobra.Command {
	var f gcFlags
	c := &cobra.Command{
		Use:   "gc [patterns]",
		Short: "Retire superseded images (and their snapshots) safely",
		Long: `Gc removes the images imgraph baked that are no longer the current key of any
image of the workspace: on aws it deregisters the AMIs, in every region they
were copied to, and deletes their snapshots (one another image uses stays); on
the local platform it removes their trees from the cache. The patterns
(default //...) say which labels it looks at; the current keys are those of
the whole workspace.

Of each label it keeps the --keep newest superseded versions (for rolling
back) besides the current one, and every version baked less than --older-than
ago. It never removes an image whose key is current, one named in
IMAGES.lock, imgraph-out/manifest.json or a publish_ssm parameter of the
workspace, one shared with other accounts (unless --include-shared), one
whose key another build holds or whose run is alive, a temporary one, or one
of a label the workspace does not have. A version goes or stays in every
region at once. It prints what it removes and what it keeps, each with why;
--dry-run removes nothing and prints the same list.`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			if f.keep < 0 {
				return usagef("--keep %d: want how many superseded versions of each label to keep, 0 or more", f.keep)
			}
			if f.olderThan < 0 {
				return usagef("--older-than %s: want a duration of 0 or more, such as 720h", f.olderThan)
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			rep, regions, err := s.gc(c.Context(), args, f)
			if rep == nil {
				return err
			}
			var werr error
			if opts.output == "json" {
				werr = writeJSON(e.stdout, gcJSONOf(rep, regions))
			} else {
				werr = writeGCText(e.stdout, rep, s.platform.Name())
			}
			for _, n := range rep.Notes {
				fmt.Fprintf(e.stderr, "note: %s\n", n)
			}
			if err == nil {
				err = werr
			}
			return err
		},
	}
	c.Flags().IntVar(&f.keep, "keep", 3, "how many superseded versions of each label to keep, newest first, besides the current one")
	c.Flags().DurationVar(&f.olderThan, "older-than", 24*time.Hour, "keep every version baked less than this long ago (0: no such bound)")
	c.Flags().BoolVar(&f.dryRun, "dry-run", false, "say what would be removed, and remove nothing")
	c.Flags().BoolVar(&f.includeShared, "include-shared", false, "let images shared with other accounts go too")
	return c
}

// gc keys the whole workspace, gathers what protects images, and runs
// the policy on the platform's images. It returns the regions looked in.
func (s *session) gc(ctx context.Context, args []string, f gcFlags) (*engine.GCReport, []string, error) {
	ps, err := s.patterns(args)
	if err != nil {
		return nil, nil, err
	}
	// The current keys are the whole workspace's, whatever the patterns.
	a, err := s.analyze(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	selected, err := engine.GCSelection(s.loader, a, ps)
	if err != nil {
		return nil, nil, err
	}
	caches, err := s.cache(ctx)
	if err != nil {
		return nil, nil, err
	}
	baker, err := s.reach(ctx)
	if err != nil {
		return nil, nil, err
	}
	retirer, ok := baker.(bake.Retirer)
	if !ok {
		return nil, nil, usagef("the %s platform cannot retire images", s.platform.Name())
	}
	lock, err := engine.ReadLock(s.ws.Root)
	if err != nil {
		return nil, nil, err
	}
	named, err := engine.GCNamed(lock, filepath.Join(s.ws.Root, rules.OutDir))
	if err != nil {
		return nil, nil, err
	}
	for _, src := range a.Lock.Sources { // sources resolved just now, not yet written
		if _, ok := named[src.ID]; !ok {
			named[src.ID] = rules.LockFile + " (" + src.Source + ")"
		}
	}
	for l, id := range a.Sources { // ami("ami-…") names an image as plainly
		if _, ok := named[id]; !ok && id != "" {
			named[id] = "the source of " + l.String()
		}
	}
	run := engine.GCRun{
		Retirer: retirer,
		Options: engine.GCOptions{
			Keep: f.keep, OlderThan: f.olderThan, IncludeShared: f.includeShared, Now: time.Now(), Selected: selected,
		},
		Current:  map[string]string{},
		Named:    named,
		Leases:   gcLeases{caches},
		RunAlive: caches.local.RunAlive,
		Records:  []engine.RecordRemover{caches.local},
		DryRun:   f.dryRun,
	}
	if caches.shared != nil {
		run.Records = append(run.Records, caches.shared)
	}
	regions := map[string]bool{s.ws.HomeRegion: true}
	params := map[string]bool{}
	for l, im := range a.Graph.Images {
		run.Current[l.String()] = a.Keys[l].Hex
		for _, r := range im.Regions {
			regions[r] = true
		}
		if p := s.platform.Distribution(bake.Want(im)).PublishSSM; p != "" {
			params[p] = true
		}
	}
	run.Regions = slices.Sorted(maps.Keys(regions))
	run.Parameters = slices.Sorted(maps.Keys(params))
	rep, err := engine.RunGC(ctx, run)
	return rep, run.Regions, err
}

// gcLeases asks the local cache's locks and the shared cache's leases.
type gcLeases struct{ c *caches }

func (l gcLeases) Held(ctx context.Context, key string) (bool, error) {
	held, err := l.c.local.Held(ctx, key)
	if err != nil || held || l.c.shared == nil {
		return held, err
	}
	return l.c.shared.Held(ctx, key)
}

// gcVerdict is what became of one image, as the table and JSON say it.
func gcVerdict(rep *engine.GCReport, v *engine.GCVersion, img bake.BakedImage) (verdict, why string) {
	if !v.Remove {
		return "keep", v.Reasons[0]
	}
	if rep.DryRun {
		return "would remove", v.Reasons[0]
	}
	out := rep.Outcomes[img.ID]
	switch {
	case out == nil:
		return "keep", "not reached"
	case out.Err != nil:
		first, _, _ := strings.Cut(out.Err.Error(), "\n")
		return "failed", first
	case out.Kept != "":
		return "keep", out.Kept
	}
	return "removed", v.Reasons[0]
}

func writeGCText(w io.Writer, rep *engine.GCReport, platform string) error {
	if len(rep.Versions) == 0 {
		_, err := fmt.Fprintf(w, "no image the %s platform baked is among the labels selected\n", platform)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tIMAGE\tKEY\tREGION\tID\tBAKED\tWHY")
	counts := map[string]int{}
	for _, v := range rep.Versions {
		for _, img := range v.Images {
			verdict, why := gcVerdict(rep, v, img)
			counts[verdict]++
			baked := "-"
			if !v.Created.IsZero() {
				baked = v.Created.UTC().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", verdict, v.Label, bake.ShortKey(v.Key), img.Region, engine.ShortID(img.ID), baked, why)
		}
		if !v.Remove {
			// Every other reason it stays, once for the version.
			for _, r := range v.Reasons[1:] {
				fmt.Fprintf(tw, "\t\t\t\t\t\t%s\n", r)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	freed := "freed"
	if rep.DryRun {
		freed = "would free"
	}
	line := countLine(counts["removed"]+counts["would remove"]+counts["keep"]+counts["failed"], counts, []countWord{
		{"removed", "removed"}, {"would remove", "to remove"}, {"failed", "failed"}, {"keep", "kept"},
	})
	_, err := fmt.Fprintf(w, "%s; %s %s\n", line, freed, engine.Bytes(rep.Freed))
	return err
}

// gcJSON is what `imgraph gc --output json` prints (docs/schemas/gc.schema.json).
type gcJSON struct {
	DryRun     bool            `json:"dry_run"`
	Regions    []string        `json:"regions"`
	Versions   []gcVersionJSON `json:"versions"`
	FreedBytes int64           `json:"freed_bytes"`
	Notes      []string        `json:"notes"`
}

type gcVersionJSON struct {
	Label   string        `json:"label"`
	Key     string        `json:"key"`
	Baked   *time.Time    `json:"baked"`
	Remove  bool          `json:"remove"`
	Reasons []string      `json:"reasons"`
	Images  []gcImageJSON `json:"images"`
}

type gcImageJSON struct {
	Region           string   `json:"region"`
	ID               string   `json:"id"`
	Action           string   `json:"action"` // keep, would remove, removed, failed
	Why              string   `json:"why"`
	Bytes            int64    `json:"bytes"`
	Shared           bool     `json:"shared"`
	Snapshots        []string `json:"snapshots"`
	SnapshotsDeleted []string `json:"snapshots_deleted"`
	SnapshotsKept    []string `json:"snapshots_kept"`
}

func gcJSONOf(rep *engine.GCReport, regions []string) gcJSON {
	out := gcJSON{DryRun: rep.DryRun, Regions: regions, Versions: []gcVersionJSON{}, FreedBytes: rep.Freed, Notes: rep.Notes}
	if out.Notes == nil {
		out.Notes = []string{}
	}
	for _, v := range rep.Versions {
		vj := gcVersionJSON{Label: v.Label, Key: v.Key, Remove: v.Remove, Reasons: v.Reasons, Images: []gcImageJSON{}}
		if !v.Created.IsZero() {
			t := v.Created.UTC()
			vj.Baked = &t
		}
		for _, img := range v.Images {
			verdict, why := gcVerdict(rep, v, img)
			ij := gcImageJSON{
				Region: img.Region, ID: img.ID, Action: verdict, Why: why, Bytes: img.Bytes, Shared: img.Shared,
				Snapshots: nonNil(img.Snapshots), SnapshotsDeleted: []string{}, SnapshotsKept: []string{},
			}
			if o := rep.Outcomes[img.ID]; o != nil {
				ij.SnapshotsDeleted, ij.SnapshotsKept = nonNil(o.Retired.Snapshots), nonNil(o.Retired.Kept)
			}
			vj.Images = append(vj.Images, ij)
		}
		out.Versions = append(out.Versions, vj)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
