package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
)

func planCommand(e *env, opts *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "plan [patterns]",
		Short: "Show what build would do and why; changes nothing",
		Long: `Plan loads the images the patterns select (default //...) and their parents,
computes every key, and says for each image whether a build would bake it,
copy it to a region, retag or share it, or find it cached, and why.`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			a, p, err := s.plan(c.Context(), args, false)
			if err != nil {
				return err
			}
			for _, ch := range a.LockChanges {
				fmt.Fprintf(e.stderr, "note: IMAGES.lock would change: %s (run `imgraph lock`)\n", ch)
			}
			if opts.output == "json" {
				return writePlanJSON(e.stdout, p)
			}
			return writePlanText(e.stdout, p)
		},
	}
	c.Flags().BoolVar(&opts.locked, "locked", false, "fail if IMAGES.lock does not cover every source")
	return c
}

type planJSON struct {
	Targets []planTargetJSON `json:"targets"`
}

type planTargetJSON struct {
	Label   string   `json:"label"`
	Key     string   `json:"key"`
	Action  string   `json:"action"`
	Reasons []string `json:"reasons"`
}

func writePlanJSON(w io.Writer, p *engine.Plan) error {
	out := planJSON{Targets: []planTargetJSON{}}
	for _, t := range p.Targets {
		reasons := t.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		out.Targets = append(out.Targets, planTargetJSON{
			Label: t.Image.Label.String(), Key: t.Key.Hex, Action: string(t.Action), Reasons: reasons,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writePlanText(w io.Writer, p *engine.Plan) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tIMAGE\tKEY\tWHY")
	for _, t := range p.Targets {
		reasons := t.Reasons
		if len(reasons) == 0 {
			reasons = []string{""}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Action, t.Image.Label, t.Key.Short(), reasons[0])
		for _, r := range reasons[1:] {
			fmt.Fprintf(tw, "\t\t\t%s\n", r)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, summarize(p))
	return err
}

// summarize counts the plan's actions: "7 images: 2 to bake, 5 cached".
func summarize(p *engine.Plan) string {
	counts := map[string]int{}
	for a, n := range p.Counts() {
		counts[string(a)] = n
	}
	return countLine(len(p.Targets), counts, []countWord{
		{"bake", "to bake"}, {"copy", "to copy"}, {"share", "to share"}, {"retag", "to retag"},
		{"cached", "cached"}, {"skipped", "skipped"},
	})
}
