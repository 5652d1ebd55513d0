package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
)

func testCommand(e *env, opts *options) *cobra.Command {
	f := buildFlags{testOnly: true}
	c := &cobra.Command{
		Use:   "test [patterns]",
		Short: "Run the tests of baked images again, without baking",
		Long: `Test runs the tests of the images the patterns select (default //...) on a
fresh instance of each one's baked image, whatever they passed before, and
records that they passed. It bakes, copies and publishes nothing: an image
that is not baked is skipped (imgraph build bakes and tests it), and its
ancestors' tests do not run. A test that fails fails its image (exit 1) and
skips the images below it; the image itself is left as it is.`,
		RunE: func(c *cobra.Command, args []string) error {
			f.jobsSet = c.Flags().Changed("jobs")
			if err := checkRunFlags(e, opts, &f); err != nil {
				return err
			}
			opts.locked = true // testing never resolves a source again
			return runBuild(c.Context(), e, opts, &f, args)
		},
	}
	addRunFlags(c, opts, &f)
	return c
}

// notBakedError is a test run that could not test every image asked for,
// since some are not baked: nothing reports success for work not done.
type notBakedError struct{ n int }

func (e *notBakedError) Error() string {
	return fmt.Sprintf("%d %s not baked, so %s tests did not run\n  hint: imgraph build bakes them and runs their tests",
		e.n, engine.Plural(e.n, "image is", "images are"), engine.Plural(e.n, "its", "their"))
}

// notBaked counts the images asked for that a test run skipped.
func notBaked(r *engine.Report, targets []label.Label) int {
	asked := make(map[label.Label]bool, len(targets))
	for _, l := range targets {
		asked[l] = true
	}
	n := 0
	for _, o := range r.Outcomes {
		if o.Action == engine.ActionSkipped && o.Err == nil && asked[o.Target.Image.Label] {
			n++
		}
	}
	return n
}
