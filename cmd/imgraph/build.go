package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/bake/aws"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/rules"
)

type buildFlags struct {
	view            viewOptions
	jobs            int  // 0 until set: the platform's default (jobsFor)
	jobsSet         bool // --jobs was given (or set by an rc file)
	keepGoing       bool
	events          string
	downloadStall   time.Duration
	downloadTimeout time.Duration
	downloadTries   int
	testOnly        bool // imgraph test: run the tests of baked images, bake nothing
	onError         string
}

func buildCommand(e *env, opts *options) *cobra.Command {
	var f buildFlags
	c := &cobra.Command{
		Use:   "build [patterns]",
		Short: "Bake what is needed of the selected images",
		Long: `Build bakes the images the patterns select (default //...) and their
parents, skipping every image whose key is already baked, with --jobs bakes at
once. An image with tests is kept only once they pass on a fresh instance of
it; an image whose tests changed is tested again, not rebaked. Each bake's
output goes to imgraph-out/logs/<package>/<name>.log and the result to
imgraph-out/manifest.json. Ctrl-C stops the build and undoes every bake in
flight; a second Ctrl-C stops the cleanups' waits (what can be undone at once
is, and what is left is listed); a third exits at once.`,
		RunE: func(c *cobra.Command, args []string) error {
			if f.downloadStall <= 0 || f.downloadTimeout <= 0 {
				return usagef("--download-stall and --download-timeout must be positive durations, such as 30s")
			}
			if f.downloadTries < 1 {
				return usagef("--download-attempts %d: a download is tried at least once", f.downloadTries)
			}
			f.jobsSet = c.Flags().Changed("jobs")
			if err := checkRunFlags(e, opts, &f); err != nil {
				return err
			}
			if f.onError != onErrorCleanup && f.onError != onErrorAbort {
				return usagef("--on-error %q: want cleanup (undo everything a failed bake made) or abort (leave its instance running to look at)", f.onError)
			}
			return runBuild(c.Context(), e, opts, &f, args)
		},
	}
	addRunFlags(c, opts, &f)
	c.Flags().StringVar(&f.onError, "on-error", onErrorCleanup, "cleanup: undo everything a failed bake made; abort (aws): leave a failed bake's instance running, with its key pair and group, write its private key under imgraph-out/aborted/, and print how to reach it and how to remove it (imgraph cleanup --run RUN)")
	c.RegisterFlagCompletionFunc("on-error", cobra.FixedCompletions([]string{onErrorCleanup, onErrorAbort}, cobra.ShellCompDirectiveNoFileComp))
	c.Flags().DurationVar(&f.downloadStall, "download-stall", engine.DefaultStall, "give up a download of an artifact or root filesystem that receives nothing for this long")
	c.Flags().DurationVar(&f.downloadTimeout, "download-timeout", engine.DefaultTimeout, "give up a download that takes longer than this")
	c.Flags().IntVar(&f.downloadTries, "download-attempts", engine.DefaultAttempts, "try a download that fails for a reason that may pass (5xx, 429, a cut or stalled connection) this many times, with backoff")
	c.Flags().BoolVar(&opts.locked, "locked", false, "fail if IMAGES.lock would have to change")
	return c
}

// addRunFlags adds the flags of every command that runs a build: how many
// at once, what it shows, and where its events and trace go.
func addRunFlags(c *cobra.Command, opts *options, f *buildFlags) {
	c.Flags().IntVarP(&f.jobs, "jobs", "j", 0, "bakes (and tests) at once (default: 16 on aws, where bakes mostly wait on EC2 and a rate limiter guards the API; the CPU count on local)")
	c.Flags().StringVar(&f.view.progress, "progress", "auto", "auto: a live view on a terminal, plain lines elsewhere; tty; plain")
	c.Flags().StringVar(&f.view.color, "color", "auto", "colour failures red and what is done green: auto (on a terminal, unless NO_COLOR is set), yes or no")
	c.Flags().BoolVar(&f.view.timestamps, "timestamps", true, "start each plain line with its time")
	c.RegisterFlagCompletionFunc("progress", cobra.FixedCompletions([]string{"auto", "tty", "plain"}, cobra.ShellCompDirectiveNoFileComp))
	c.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "yes", "no"}, cobra.ShellCompDirectiveNoFileComp))
	c.Flags().BoolVarP(&f.keepGoing, "keep-going", "k", false, "after a failure, finish what does not depend on it")
	c.Flags().StringVar(&opts.traceFile, "profile", "", "write a trace of the command to FILE, in the Chrome trace event format (open it in Perfetto)")
	c.Flags().StringVar(&f.events, "events", "", "write every event of the build to FILE as JSON lines")
	c.Flags().StringVar(&opts.sshCIDR, "ssh-cidr", "", "aws: the only source admitted on the SSH port (default: this machine's address, as a /32)")
}

// checkRunFlags checks the flags addRunFlags adds.
func checkRunFlags(e *env, opts *options, f *buildFlags) error {
	if err := checkOutput(opts, "text", "json"); err != nil {
		return err
	}
	if f.jobsSet && f.jobs < 1 {
		return usagef("--jobs %d: at least one bake must run at a time", f.jobs)
	}
	if !slices.Contains([]string{"auto", "tty", "plain"}, f.view.progress) {
		return usagef("--progress %q: want auto (a live view on a terminal, plain lines elsewhere), tty or plain", f.view.progress)
	}
	if !slices.Contains([]string{"auto", "yes", "no"}, f.view.color) {
		return usagef("--color %q: want auto, yes or no", f.view.color)
	}
	f.view.noColor = e.getenv("NO_COLOR") != ""
	f.view.dumb = e.getenv("TERM") == "dumb"
	return nil
}

func runBuild(ctx context.Context, e *env, opts *options, f *buildFlags, args []string) error {
	s, err := openSession(e, opts)
	if err != nil {
		return err
	}
	if f.onError == onErrorAbort {
		if s.platform.Name() != rules.PlatformAWS {
			return usagef("--on-error=abort leaves a failed bake's instance running; the %s platform has none (its sandbox goes with the bake)", s.platform.Name())
		}
		opts.abortDir = filepath.Join(s.ws.Root, rules.OutDir, "aborted")
	}
	a, p, err := s.plan(ctx, args, true)
	if err != nil {
		return err
	}
	if f.testOnly {
		p.ForTests(a.Targets)
	}
	if len(a.LockChanges) > 0 {
		if err := a.Lock.Write(s.ws.Root); err != nil {
			return err
		}
		for _, ch := range a.LockChanges {
			fmt.Fprintf(e.stderr, "IMAGES.lock: %s\n", ch)
		}
	}
	if err := engine.CheckSecrets(p, e.lookupEnv); err != nil {
		return err
	}
	outDir := filepath.Join(s.ws.Root, rules.OutDir)
	var observers engine.Observers
	var events *engine.JSONLines
	if f.events != "" {
		path := f.events
		if !filepath.IsAbs(path) {
			path = filepath.Join(e.dir, path)
		}
		ef, err := os.Create(path)
		if err != nil {
			return usagef("--events %s: %v", f.events, err)
		}
		defer ef.Close()
		events = engine.NewJSONLines(ef)
		observers = append(observers, events)
	}
	// While this process lives, `imgraph cleanup` leaves this run's
	// temporary resources alone.
	releaseRun, err := s.caches.local.HoldRun(s.runID)
	if err != nil {
		return err
	}
	defer releaseRun()
	view := newView(e.stderr, s.ws.Root, f.view)
	defer view.close()
	observers = append(observers, view)
	if opts.trace != nil {
		observers = append(observers, traceEvents{opts.trace})
		defer opts.span("build")()
	}
	// Warnings go through the view, so none is drawn over by its block.
	warn := view.warn(e.warn)
	report, err := engine.Build(ctx, a, p, engine.BuildOptions{
		Jobs: jobsFor(s.platform, f), KeepGoing: f.keepGoing, TestOnly: f.testOnly, RunID: s.runID,
		Baker: s.baker, Store: s.caches.store, Locker: s.caches.store, Observer: observers,
		OutDir: outDir,
		Fetcher: &engine.Fetcher{Dir: s.caches.local.Path("artifacts"), Root: s.ws.Root, S3: aws.S3Opener(opts.profile, warn),
			Stall: f.downloadStall, Timeout: f.downloadTimeout, Attempts: f.downloadTries},
		Secret:  e.lookupEnv,
		Warn:    warn,
		Command: opts.command,
		Version: versionString(),
	})
	view.close()
	if events != nil && events.Err() != nil && err == nil {
		err = fmt.Errorf("writing the events to %s: %w", f.events, events.Err())
	}
	if f.testOnly && err == nil {
		if n := notBaked(report, a.Targets); n > 0 {
			err = &notBakedError{n: n}
		}
	}
	if report != nil {
		if opts.output == "json" {
			if jerr := writeJSON(e.stdout, reportJSON(report, s.ws.Root)); jerr != nil && err == nil {
				err = jerr
			}
		} else {
			writeSummary(e.stdout, report, a.Result.Workspace.HomeRegion)
			writeFailures(e.stderr, report, s.ws.Root)
		}
	}
	return err
}

// writeSummary prints the table every build ends with. On a terminal,
// labels too long for it are elided from the front, so no row wraps.
func writeSummary(w io.Writer, r *engine.Report, home string) {
	type row struct{ label, action, id, elapsed string }
	var rows []row
	adopted := false
	for _, o := range r.Outcomes {
		action := string(o.Action)
		switch {
		case o.Err != nil:
			action = "FAILED"
		case o.Reason != "" && o.Action == engine.ActionCached:
			action = "cached*"
			adopted = true
		}
		elapsed := ""
		if o.Elapsed > 0 && o.Action != engine.ActionCached {
			elapsed = o.Elapsed.Round(100 * time.Millisecond).String()
		}
		rows = append(rows, row{o.Target.Image.Label.String(), action, engine.ShortID(o.Images[home]), elapsed})
	}
	if width := terminalWidth(w); width > 0 {
		// Each column is as wide as its widest cell, the header's included.
		action, id, elapsed := len("ACTION"), len("IMAGE ID"), len("TIME")
		for _, r := range rows {
			action, id, elapsed = max(action, len(r.action)), max(id, len(r.id)), max(elapsed, len(r.elapsed))
		}
		label := max(width-(2+action+2+id+2+elapsed), 12)
		for i := range rows {
			rows[i].label = elide(rows[i].label, label)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tACTION\tIMAGE ID\tTIME")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.label, r.action, r.id, r.elapsed)
	}
	tw.Flush()
	fmt.Fprintln(w, countLine(len(r.Outcomes), r.Counts(), []countWord{
		{"bake", "baked"}, {"test", "tested"}, {"copy", "copied"}, {"share", "shared"}, {"retag", "retagged"},
		{"cached", "cached"}, {"failed", "failed"}, {"skipped", "skipped"},
	}))
	if adopted {
		fmt.Fprintln(w, "* baked by another build running at the same time")
	}
}

// countWord is how a summary names the images of one action.
type countWord struct{ action, word string }

// countLine is a summary's last line: "7 images: 2 to bake, 5 cached".
func countLine(total int, counts map[string]int, words []countWord) string {
	var parts []string
	for _, cw := range words {
		if n := counts[cw.action]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, cw.word))
		}
	}
	line := fmt.Sprintf("%d %s", total, engine.Plural(total, "image", "images"))
	if len(parts) == 0 {
		return line
	}
	return line + ": " + strings.Join(parts, ", ")
}

// writeFailures prints, for each failed image, why and the end of its log.
func writeFailures(w io.Writer, r *engine.Report, root string) {
	for _, o := range r.Outcomes {
		if o.Err == nil {
			continue
		}
		fmt.Fprintf(w, "\nFAILED %s: %v\n", o.Target.Image.Label, o.Err)
		if o.Log == "" {
			continue
		}
		rel, _ := filepath.Rel(root, o.Log)
		tail := logTail(o.Log, 20)
		if len(tail) > 0 {
			fmt.Fprintf(w, "--- last %d lines of %s ---\n", len(tail), rel)
			for _, l := range tail {
				fmt.Fprintf(w, "  %s\n", l)
			}
		} else {
			fmt.Fprintf(w, "(the log %s is empty)\n", rel)
		}
	}
}

func logTail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}

type outcomeJSON struct {
	Label   string            `json:"label"`
	Key     string            `json:"key"`
	Action  string            `json:"action"`
	Images  map[string]string `json:"images,omitempty"`
	Error   string            `json:"error,omitempty"`
	Reason  string            `json:"reason,omitempty"`
	Log     string            `json:"log,omitempty"`
	Seconds float64           `json:"seconds"`
}

func reportJSON(r *engine.Report, root string) map[string]any {
	var out []outcomeJSON
	for _, o := range r.Outcomes {
		j := outcomeJSON{Label: o.Target.Image.Label.String(), Key: o.Target.Key.Hex, Action: string(o.Action),
			Images: o.Images, Reason: o.Reason, Seconds: o.Elapsed.Seconds()}
		if o.Err != nil {
			j.Action = "failed"
			j.Error = o.Err.Error()
		}
		if o.Log != "" {
			j.Log, _ = filepath.Rel(root, o.Log)
		}
		out = append(out, j)
	}
	return map[string]any{"targets": out, "failed": r.Failed, "skipped": r.Skipped}
}

// What build does with a failed bake's temporary resources (--on-error).
const (
	onErrorCleanup = "cleanup"
	onErrorAbort   = "abort"
)
