package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
)

func lockCommand(e *env, opts *options) *cobra.Command {
	var update bool
	c := &cobra.Command{
		Use:   "lock [--update] [patterns]",
		Short: "Resolve floating sources into IMAGES.lock",
		Long: `Lock resolves every floating source (ami_filter, ssm_parameter) that
IMAGES.lock does not cover yet and drops the entries no image uses. With
--update it resolves every source again, or, given patterns, the sources of
the images they select and nothing else: the base-image patch moment. Only
the entries of the platform's own sources change: locking for one platform
keeps every other platform's. It prints what changed.`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 && !update {
				return usagef("patterns go with --update: `imgraph lock --update %s`", args[0])
			}
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			all := []label.Pattern{{Recursive: true, Selects: label.Rules}}
			a, err := s.loadGraph(c.Context(), all)
			if err != nil {
				return err
			}
			lock, err := engine.ReadLock(s.ws.Root)
			if err != nil {
				return err
			}
			if err := lock.Check(s.platform); err != nil {
				return err
			}
			// The whole workspace: resolve what is missing (with --update,
			// everything again) and drop what no image uses, of this
			// platform's sources only. Selected images: theirs alone.
			labels, opt := a.Closure, engine.LockOptions{Update: update, Prune: true, Platform: s.platform}
			if len(args) > 0 {
				ps, err := s.patterns(args)
				if err != nil {
					return err
				}
				if _, err := engine.PackagesFor(s.loader, ps); err != nil {
					return err
				}
				labels, opt = a.Graph.Closure(engine.Select(a.Graph, ps)), engine.LockOptions{Update: true}
			}
			// Sources are resolved by the platform that bakes them,
			// reached only if one is to be resolved.
			next, changes, err := engine.UpdateLock(c.Context(), a.Graph, labels, lock, s.ws.HomeRegion, s.resolver(), opt)
			if err != nil {
				return err
			}
			if len(changes) > 0 {
				if err := next.Write(s.ws.Root); err != nil {
					return err
				}
			}
			if opts.output == "json" {
				return writeJSON(e.stdout, lockJSONOf(changes, len(next.Sources)))
			}
			if len(changes) == 0 {
				fmt.Fprintf(e.stdout, "IMAGES.lock is up to date (%d sources)\n", len(next.Sources))
				return nil
			}
			for _, ch := range changes {
				fmt.Fprintln(e.stdout, ch)
			}
			fmt.Fprintf(e.stdout, "IMAGES.lock: %d changes, %d sources\n", len(changes), len(next.Sources))
			return nil
		},
	}
	c.Flags().BoolVar(&update, "update", false, "resolve the selected images' sources again")
	return c
}

// lockJSON is what `imgraph lock --output json` prints: every change
// written to IMAGES.lock, and how many sources it holds now.
type lockJSON struct {
	Changes []lockChangeJSON `json:"changes"`
	Sources int              `json:"sources"`
}

type lockChangeJSON struct {
	Change string `json:"change"` // added, removed, updated
	Source string `json:"source"`
	Region string `json:"region"`
	Was    string `json:"was,omitempty"`
	Now    string `json:"now,omitempty"`
}

func lockJSONOf(changes []engine.LockChange, sources int) lockJSON {
	out := lockJSON{Changes: []lockChangeJSON{}, Sources: sources}
	for _, ch := range changes {
		kind := "updated"
		switch {
		case ch.Was == "":
			kind = "added"
		case ch.Now == "":
			kind = "removed"
		}
		out.Changes = append(out.Changes, lockChangeJSON{Change: kind, Source: ch.Source, Region: ch.Region, Was: ch.Was, Now: ch.Now})
	}
	return out
}
