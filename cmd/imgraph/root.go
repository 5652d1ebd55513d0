package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/trace"
	"github.com/imgraph/imgraph/rules"
)

// Exit codes, as the README promises them (engine.ExitCode picks them).
const (
	exitOK          = engine.ExitOK
	exitBakeFailed  = engine.ExitBakeFailed
	exitBadInput    = engine.ExitBadInput
	exitChanges     = 3 // plan --detailed-exitcode: a build would change something
	exitInterrupted = engine.ExitInterrupted
)

// exitStatus ends a command that did its work with an exit code that says
// something of it, and nothing more to print.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

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
	abortDir  string // build --on-error=abort: where a failed bake's private key goes

	command     []string     // the command line, for the build_start event
	traceFile   string       // --profile: where to write the trace
	trace       *trace.Trace // the trace, with --profile
	varFile     string       // --var-file
	configs     []string     // --config: expanded from the rc files before parsing
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
	opts := &options{command: append([]string{"imgraph"}, args...)}
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
	pf.StringVar(&opts.varFile, "var-file", "", "read var() values from FILE: a JSON object, or a .star file of name = \"value\" lines (--var wins)")
	pf.StringArrayVar(&opts.configs, "config", nil, "use the flags the rc files give under command:NAME (repeatable)")
	pf.Bool("ignore-rc", false, "read no "+RCFile+" file")
	pf.StringVar(&opts.cpuProfile, "cpu-profile", "", "write a CPU profile of the command to this file (for `go tool pprof`)")
	pf.MarkHidden("cpu-profile")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if opts.traceFile != "" {
			opts.trace = trace.New()
		}
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
		testCommand(e, opts),
		planCommand(e, opts),
		exportCommand(e, opts),
		queryCommand(e, opts),
		explainCommand(e, opts),
		lockCommand(e, opts),
		cacheCommand(e, opts),
		cleanupCommand(e, opts),
		gcCommand(e, opts),
		affectedCommand(e, opts),
		fmtCommand(e, opts),
		infoCommand(e, opts),
		versionCommand(e, opts),
	)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "build", "plan", "lock", "affected", "fmt", "gc":
			c.ValidArgsFunction = completeLabels(e, opts)
		case "explain", "export":
			labels := completeLabels(e, opts)
			c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveDefault // export's OUT: a path
				}
				return labels(c, args, toComplete)
			}
		}
	}
	completeFlagValues(root)
	root.InitDefaultCompletionCmd()
	usageArgs(root)
	full, err := withRC(root, e, args)
	if err != nil {
		return report(e.stderr, err, wantsJSON(args))
	}
	root.SetArgs(full)
	opts.command = append([]string{"imgraph"}, full...)
	err = root.Execute()
	var status exitStatus
	if terr := opts.writeTrace(e); terr != nil && (err == nil || errors.As(err, &status)) {
		err = terr // a trace asked for and not written is worth more than a detailed exit code
	}
	if opts.stopProfile != nil {
		if perr := opts.stopProfile(); perr != nil && err == nil {
			err = perr
		}
	}
	if err == nil {
		return exitOK
	}
	return report(e.stderr, err, opts.output == "json" || wantsJSON(full))
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

// report prints err once, as text or (with --output json) as one JSON
// object, and picks the exit code.
func report(w io.Writer, err error, asJSON bool) int {
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	code := engine.ExitCode(err)
	if asJSON {
		// An error that cannot be written has nowhere else to go.
		_ = json.NewEncoder(w).Encode(errorJSONOf(err, code))
		return code
	}
	var list rules.ErrorList
	switch {
	case code == exitInterrupted:
		fmt.Fprintln(w, "imgraph: interrupted")
	case errors.As(err, &list) && len(list) > 0:
		fmt.Fprintln(w, err.Error())
	default:
		fmt.Fprintln(w, "error: "+err.Error())
	}
	return code
}

// errorJSON is an error as --output json prints it on stderr. An error
// about a file says where; a list of them (every error of a load) is its
// first, with the whole list under errors.
type errorJSON struct {
	Error    string      `json:"error"`
	File     string      `json:"file,omitempty"`
	Line     int32       `json:"line,omitempty"`
	Col      int32       `json:"col,omitempty"`
	Hint     string      `json:"hint,omitempty"`
	Context  string      `json:"context,omitempty"` // what the errors are of, such as "the workspace at HEAD~1"
	ExitCode int         `json:"exit_code"`
	Errors   []errorJSON `json:"errors,omitempty"`
}

func errorJSONOf(err error, code int) errorJSON {
	if code == exitInterrupted {
		return errorJSON{Error: "interrupted", ExitCode: code}
	}
	var list rules.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		out := fileErrorJSON(list[0], code)
		if len(list) > 1 {
			for _, e := range list {
				out.Errors = append(out.Errors, fileErrorJSON(e, code))
			}
		}
		// What a wrapping error said of the list, as "the workspace at
		// REV:" does, is kept.
		if ctx, ok := strings.CutSuffix(err.Error(), list.Error()); ok {
			out.Context = strings.TrimRight(strings.TrimSpace(ctx), ":")
		}
		return out
	}
	var one *rules.Error
	if errors.As(err, &one) {
		return fileErrorJSON(one, code)
	}
	msg, hint, _ := strings.Cut(err.Error(), "\n  hint: ")
	return errorJSON{Error: msg, Hint: hint, ExitCode: code}
}

func fileErrorJSON(e *rules.Error, code int) errorJSON {
	return errorJSON{Error: e.Msg, File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Hint: e.Hint, ExitCode: code}
}

// checkOutput checks --output against the formats a command prints; none
// given is the first.
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

// wantsJSON reports whether args ask for --output json, for an error met
// before (or without) the flags being parsed, such as a bad flag before
// --output.
func wantsJSON(args []string) bool {
	for i, a := range args {
		if a == "--" {
			break
		}
		if a == "--output=json" || a == "--output" && i+1 < len(args) && args[i+1] == "json" {
			return true
		}
	}
	return false
}
