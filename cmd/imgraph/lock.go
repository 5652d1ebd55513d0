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
IMAGES.lock does not cover yet and drops entries no image uses. With --update
it resolves again the sources of the images the patterns select (default:
every image): the base-image patch moment. It prints what changed.`,
		RunE: func(c *cobra.Command, args []string) error {
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			all := []label.Pattern{{Recursive: true, Selects: label.Rules}}
			a, err := engine.LoadGraph(c.Context(), s.loader, all)
			if err != nil {
				return err
			}
			lock, err := engine.ReadLock(s.ws.Root)
			if err != nil {
				return err
			}
			// Sources are resolved by the platform that bakes them,
			// reached only if one is to be resolved.
			resolver := s.resolver()
			// First every source of the workspace, pruning what none uses;
			// then, with --update, the selected ones again.
			next, changes, err := engine.UpdateLock(c.Context(), a.Graph, a.Closure, lock, s.ws.HomeRegion,
				resolver, engine.LockOptions{Prune: true})
			if err != nil {
				return err
			}
			if update {
				ps, err := s.patterns(args)
				if err != nil {
					return err
				}
				if _, err := engine.PackagesFor(s.loader.Packages(), ps); err != nil {
					return err
				}
				sel := a.Graph.Closure(engine.Select(a.Graph, ps))
				var more []engine.LockChange
				next, more, err = engine.UpdateLock(c.Context(), a.Graph, sel, next, s.ws.HomeRegion,
					resolver, engine.LockOptions{Update: true})
				if err != nil {
					return err
				}
				changes = append(changes, more...)
			} else if len(args) > 0 {
				return usagef("patterns go with --update: `imgraph lock --update %s`", args[0])
			}
			if len(changes) == 0 {
				fmt.Fprintf(e.stdout, "IMAGES.lock is up to date (%d sources)\n", len(next.Sources))
				return nil
			}
			if err := next.Write(s.ws.Root); err != nil {
				return err
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
