package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
)

func planCommand(e *env, opts *options) *cobra.Command {
	var detailed bool
	c := &cobra.Command{
		Use:   "plan [patterns]",
		Short: "Show what build would do and why; changes nothing",
		Long: `Plan loads the images the patterns select (default //...) and their parents,
computes every key, and says for each image whether a build would bake it,
copy it to a region, retag or share it, or find it cached, and why. With
--detailed-exitcode it exits 0 when a build would change nothing and 3 when
it would change something (as terraform plan -detailed-exitcode does); bad
input is 2 either way.`,
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
				err = writePlanJSON(e.stdout, p)
			} else {
				err = writePlanText(e.stdout, p)
			}
			if err == nil && detailed && (len(a.LockChanges) > 0 || slices.ContainsFunc(p.Targets, func(t *engine.Target) bool {
				return t.Action != engine.ActionCached
			})) {
				return exitStatus(exitChanges)
			}
			return err
		},
	}
	c.Flags().BoolVar(&opts.locked, "locked", false, "fail if IMAGES.lock does not cover every source")
	c.Flags().StringVar(&opts.traceFile, "profile", "", "write a trace of the command to FILE, in the Chrome trace event format (open it in Perfetto)")
	c.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 3 when a build would change something, 0 when it would not")
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
		{"bake", "to bake"}, {"test", "to test"}, {"copy", "to copy"}, {"share", "to share"}, {"retag", "to retag"},
		{"cached", "cached"}, {"skipped", "skipped"},
	})
}
