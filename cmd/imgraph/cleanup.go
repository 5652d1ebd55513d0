package main

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/bake/aws"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

func cleanupCommand(e *env, opts *options) *cobra.Command {
	var olderThan time.Duration
	var dryRun bool
	var dead []string
	c := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove the temporary resources of builds that died",
		Long: `Cleanup looks in every region the workspace uses for temporary resources
(instances, key pairs, security groups, partial image copies and their
snapshots) tagged by imgraph runs that are no longer alive, created more than
--older-than ago, and removes them. A run is alive while this machine holds
it, or while its resources' heartbeat (renewed every minute by the run,
wherever it runs) is less than five minutes old: its resources are left
alone whatever their age, and cleanup says so. --run names a run you know
is dead (killed, say), whose resources then go at once. It prints what it
removed; --dry-run only says what it would remove.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			if s.loader.Platform() != rules.PlatformAWS {
				// The local platform removes its temporary trees on every
				// path out, and a killed run's leftovers are only directories.
				return usagef("cleanup removes cloud resources; this workspace builds for %s (use --platform aws)", s.loader.Platform())
			}
			a, err := s.loadGraph(c.Context(), []label.Pattern{{Recursive: true, Selects: label.Rules}})
			if err != nil {
				return err
			}
			regions := map[string]bool{s.ws.HomeRegion: true}
			for _, im := range a.Graph.Images {
				for _, r := range im.Regions {
					regions[r] = true
				}
			}
			caches, err := s.cache(c.Context())
			if err != nil {
				return err
			}
			baker, err := aws.New(c.Context(), aws.Options{Profile: opts.profile, Warn: e.warn})
			if err != nil {
				return err
			}
			removed, spared, err := baker.Cleanup(c.Context(), slices.Sorted(maps.Keys(regions)), aws.CleanupOptions{
				OlderThan: olderThan, Alive: caches.local.RunAlive, Dead: dead, DryRun: dryRun,
			})
			if opts.output == "json" {
				// What was removed before an error is printed all the same.
				if jerr := writeJSON(e.stdout, cleanupJSONOf(dryRun, regions, removed, spared)); jerr != nil && err == nil {
					err = jerr
				}
				return err
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, r := range removed {
				fmt.Fprintf(e.stdout, "%s %s %s in %s (run %s)\n", verb, r.Kind, r.ID, r.Region, r.Run)
			}
			for _, sp := range spared {
				fmt.Fprintf(e.stdout, "left alone: %d %s of run %s in %s, which beat %s ago (alive elsewhere?)\n",
					sp.Resources, engine.Plural(sp.Resources, "resource", "resources"), sp.Run, sp.Region,
					time.Since(sp.LastBeat).Round(time.Second))
			}
			if len(spared) > 0 {
				fmt.Fprintf(e.stdout, "  hint: they go once their heartbeat is %s old; if the run is dead, `imgraph cleanup --run RUN` removes them now\n", aws.HeartbeatStale)
			}
			if len(removed) == 0 && len(spared) == 0 && err == nil {
				fmt.Fprintf(e.stdout, "nothing to clean up in %d regions\n", len(regions))
			}
			return err
		},
	}
	c.Flags().DurationVar(&olderThan, "older-than", time.Hour, "only resources created longer ago than this")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed, and remove nothing")
	c.Flags().StringArrayVar(&dead, "run", nil, "a run known to be dead: remove its resources however recently they beat (repeatable)")
	return c
}

// cleanupJSON is what `imgraph cleanup --output json` prints.
type cleanupJSON struct {
	DryRun    bool            `json:"dry_run"`
	Regions   []string        `json:"regions"`
	Removed   []removedJSON   `json:"removed"` // with --dry-run, what would be
	LeftAlone []leftAloneJSON `json:"left_alone"`
}

type removedJSON struct {
	Region string `json:"region"`
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Run    string `json:"run"`
}

type leftAloneJSON struct {
	Region    string    `json:"region"`
	Run       string    `json:"run"`
	Resources int       `json:"resources"`
	LastBeat  time.Time `json:"last_beat"`
}

func cleanupJSONOf(dryRun bool, regions map[string]bool, removed []aws.Removed, spared []aws.Spared) cleanupJSON {
	out := cleanupJSON{DryRun: dryRun, Regions: slices.Sorted(maps.Keys(regions)), Removed: []removedJSON{}, LeftAlone: []leftAloneJSON{}}
	for _, r := range removed {
		out.Removed = append(out.Removed, removedJSON{Region: r.Region, Kind: r.Kind, ID: r.ID, Run: r.Run})
	}
	for _, sp := range spared {
		out.LeftAlone = append(out.LeftAlone, leftAloneJSON{Region: sp.Region, Run: sp.Run, Resources: sp.Resources, LastBeat: sp.LastBeat.UTC()})
	}
	return out
}
