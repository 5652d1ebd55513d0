package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/rules"
)

// Exit codes, as the README promises them.
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

	cpuProfile  string       // --cpu-profile, hidden: for measuring imgraph
	stopProfile func() error // ends the profile
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
		negative := slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-/") })
		if negative {
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
	pf.StringVar(&opts.cpuProfile, "cpu-profile", "", "write a CPU profile of the command to this file (for `go tool pprof`)")
	pf.MarkHidden("cpu-profile")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if opts.cpuProfile == "" {
			return nil
		}
		stop, err := startCPUProfile(opts.cpuProfile)
		if err != nil {
			return err
		}
		opts.stopProfile = stop
		return nil
	}

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
	root.InitDefaultCompletionCmd()
	usageArgs(root)
	err := root.Execute()
	if opts.stopProfile != nil {
		if perr := opts.stopProfile(); perr != nil && err == nil {
			err = perr
		}
	}
	if err == nil {
		return exitOK
	}
	return report(e.stderr, err)
}

// usageArgs makes cobra's complaints about a command's arguments usage
// errors (exit 2): a wrong number of arguments, and an unknown subcommand,
// which cobra would answer with help and exit 0.
func usageArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = cobra.ArbitraryArgs
		c.SuggestionsMinimumDistance = 2
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			hint := fmt.Sprintf("see `%s --help`", c.CommandPath())
			if near := c.SuggestionsFor(args[0]); len(near) > 0 && !c.HasParent() {
				hint = fmt.Sprintf("did you mean `%s %s`?", c.CommandPath(), near[0])
			} else if c.HasParent() {
				var names []string
				for _, sub := range c.Commands() {
					if sub.IsAvailableCommand() {
						names = append(names, sub.Name())
					}
				}
				hint = fmt.Sprintf("the commands of `%s` are %s", c.CommandPath(), strings.Join(names, ", "))
			}
			return usagef("unknown command %q for %q\n  hint: %s", args[0], c.CommandPath(), hint)
		}
		return
	}
	if check := c.Args; check != nil {
		c.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usagef("%v\n  hint: see `%s --help`", err, c.CommandPath())
			}
			return nil
		}
	}
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
