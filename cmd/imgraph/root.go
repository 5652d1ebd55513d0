package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/cache/remote"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// Exit codes, as DESIGN.md promises them.
const (
	exitOK          = 0
	exitBakeFailed  = 1
	exitBadInput    = 2
	exitInterrupted = 130
)

// env is the world a run of imgraph sees: tests give it their own.
type env struct {
	dir       string // the working directory
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	getenv    func(string) string
	lookupEnv func(string) (string, bool) // secret_env values come from here
}

// warn prints a warning: something the user may want to act on that does
// not stop the command.
func (e *env) warn(format string, args ...any) {
	fmt.Fprintf(e.stderr, "warning: "+format+"\n", args...)
}

// options are the flags common to the commands.
type options struct {
	workspace string
	platform  string
	vars      []string
	cache     string
	output    string
	locked    bool
	profile   string // --aws-profile
	sshCIDR   string // --ssh-cidr
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string  { return e.msg }
func (e *usageError) BadInput() bool { return true }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// run runs imgraph with args and returns its exit code.
func run(ctx context.Context, e *env, args []string) int {
	opts := &options{}
	root := &cobra.Command{
		Use:           "imgraph",
		Short:         "A build graph for machine images",
		Long:          "imgraph keys every image by the content of its inputs and bakes only the images whose key changed.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetIn(e.stdin)
	root.SetContext(ctx)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if strings.Contains(err.Error(), "flag: '/'") || strings.Contains(err.Error(), "flag: -/") {
			return usagef("%v\n  hint: negative patterns go after --, as in Bazel: %s -- //... -//legacy/...", err, c.CommandPath())
		}
		return usagef("%v\n  hint: see `%s --help`", err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&opts.workspace, "workspace", "", "the workspace root (default: the nearest ancestor whose IMAGES.star calls workspace())")
	pf.StringVar(&opts.platform, "platform", "", `the platform to build for, "aws" or "local" (default: the workspace's)`)
	pf.StringArrayVar(&opts.vars, "var", nil, "set a var() value, as name=value (repeatable)")
	pf.StringVar(&opts.cache, "cache", "", "the cache: a directory (default ~/.cache/imgraph)")
	pf.StringVar(&opts.output, "output", "", "output format (text or json; query has its own)")
	pf.StringVar(&opts.profile, "aws-profile", "", "the AWS shared configuration profile (default: AWS_PROFILE, then the SDK's)")

	root.AddCommand(
		buildCommand(e, opts),
		planCommand(e, opts),
		exportCommand(e, opts),
		queryCommand(e, opts),
		explainCommand(e, opts),
		lockCommand(e, opts),
		cacheCommand(e, opts),
		cleanupCommand(e, opts),
		versionCommand(e),
	)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	return report(e.stderr, err)
}

// badInput is what every error the user can cause says of itself.
type badInput interface{ BadInput() bool }

// bakeFailed is what a failed build says of itself.
type bakeFailed interface{ BakeFailed() bool }

// report prints err once and picks the exit code.
func report(w io.Writer, err error) int {
	var list rules.ErrorList
	msg := err.Error()
	if !errors.As(err, &list) || len(list) == 0 {
		msg = "error: " + msg
	}
	// cobra's own usage errors (unknown command, wrong arity) are bad input.
	if strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "arg(s)") {
		msg += "\n  hint: see `imgraph --help`"
		fmt.Fprintln(w, msg)
		return exitBadInput
	}
	var bi badInput
	var bf bakeFailed
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "imgraph: interrupted")
		return exitInterrupted
	case errors.As(err, &bi) && bi.BadInput():
		fmt.Fprintln(w, msg)
		return exitBadInput
	case errors.As(err, &bf) && bf.BakeFailed():
		fmt.Fprintln(w, msg)
		return exitBakeFailed
	}
	fmt.Fprintln(w, msg)
	return exitBakeFailed
}

// session is what every command that reads the workspace sets up.
type session struct {
	ws     *rules.Workspace
	loader *rules.Loader
	cwd    string // the package of the working directory
}

func openSession(e *env, opts *options) (*session, error) {
	dir := e.dir
	if opts.workspace != "" {
		dir = opts.workspace
		if !strings.HasPrefix(dir, "/") {
			dir = e.dir + "/" + dir
		}
	}
	ws, err := rules.FindWorkspace(dir)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, v := range opts.vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usagef("--var %q: want name=value", v)
		}
		vars[k] = val
	}
	loader, err := rules.NewLoader(ws, rules.Config{Platform: opts.platform, Vars: vars})
	if err != nil {
		return nil, err
	}
	return &session{ws: ws, loader: loader, cwd: ws.PackageOf(e.dir)}, nil
}

// patterns parses the command line's target patterns; none means //...
func (s *session) patterns(args []string) ([]label.Pattern, error) {
	if len(args) == 0 {
		args = []string{"//..."}
	}
	var ps []label.Pattern
	positive := false
	for _, a := range args {
		p, err := label.ParsePattern(a, s.cwd)
		if err != nil {
			return nil, err
		}
		positive = positive || !p.Negative
		ps = append(ps, p)
	}
	if !positive {
		// As in Bazel, patterns that only subtract subtract from nothing;
		// say so rather than build nothing in silence.
		return nil, usagef("every pattern is negative (%s), so nothing is selected\n  hint: add a positive pattern first, such as //... %s", strings.Join(args, " "), strings.Join(args, " "))
	}
	return ps, nil
}

// caches are the caches a command reads and writes: always the local
// directory, and the shared remote cache layered over it when one is named.
type caches struct {
	local  *cache.Local
	shared *remote.Store // nil: no shared cache
	store  interface {
		engine.Store
		cache.Locker
	}
}

// openCache opens the cache the flags or the workspace name: a directory,
// or s3://BUCKET/PREFIX?table=TABLE layered over the default directory.
func openCache(ctx context.Context, e *env, opts *options, ws *rules.Workspace, runID string) (*caches, error) {
	loc := opts.cache
	if loc == "" && ws != nil {
		loc = ws.Cache
	}
	dir := loc
	if remote.IsURL(loc) || loc == "" {
		d, err := cache.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	} else if strings.Contains(loc, "://") {
		return nil, usagef("--cache %q: a cache is a directory or s3://BUCKET/PREFIX?table=TABLE", loc)
	} else if !strings.HasPrefix(loc, "/") {
		dir = e.dir + "/" + loc
	}
	local, err := cache.OpenLocal(dir, e.warn)
	if err != nil {
		return nil, err
	}
	c := &caches{local: local, store: local}
	if !remote.IsURL(loc) {
		return c, nil
	}
	where, err := remote.ParseURL(loc)
	if err != nil {
		return nil, err
	}
	c.shared, err = remote.Open(ctx, where, remote.Options{RunID: runID, Profile: opts.profile, Warn: e.warn})
	if err != nil {
		return nil, err
	}
	c.store = &cache.Layered{Local: local, Shared: c.shared, Warn: e.warn}
	return c, nil
}

// analyze runs the loading and analysis every build-like command shares.
func analyze(ctx context.Context, s *session, opts *options, args []string) (*engine.Analysis, error) {
	ps, err := s.patterns(args)
	if err != nil {
		return nil, err
	}
	return engine.Analyze(ctx, s.loader, engine.AnalyzeOptions{Patterns: ps, Locked: opts.locked})
}

func checkOutput(opts *options, allowed ...string) error {
	if opts.output == "" {
		opts.output = allowed[0]
	}
	for _, a := range allowed {
		if opts.output == a {
			return nil
		}
	}
	return usagef("--output %q: this command prints %s", opts.output, strings.Join(allowed, " or "))
}
