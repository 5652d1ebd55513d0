package main

import (
	"strconv"

	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/rules"
)

// RCFile is the name of imgraph's rc files: ~/.imgraphrc, then one at the
// workspace root, each line of Bazel's .bazelrc shape:
//
//	# a comment
//	common --cache s3://acme/imgraph?table=imgraph
//	build --jobs 16
//	build:ci --keep-going
//
// A line gives a command (or common, every command) flags; a line of
// command:NAME gives them only under --config=NAME.
const RCFile = ".imgraphrc"

// rcLine is one line of an rc file: its command, config, and flags.
type rcLine struct {
	file    string
	line    int
	command string
	config  string
	args    []string
}

// withRC is args with the flags the rc files give the command args name
// put before the command line's own, so the command line wins: common
// flags, the command's, then those of each --config named (on the command
// line or in the rc lines, expanded in turn). As in Bazel, a common flag
// the command does not take is left out rather than refused.
func withRC(root *cobra.Command, e *env, args []string) ([]string, error) {
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root || ignoreRC(args) {
		return args, nil
	}
	name := strings.TrimPrefix(cmd.CommandPath(), root.Name()+" ")
	name, _, _ = strings.Cut(name, " ") // "cache stat": the cache lines
	var lines []rcLine
	for _, file := range rcFiles(e, args) {
		l, err := readRC(file)
		if err != nil {
			return nil, err
		}
		lines = append(lines, l...)
	}
	if len(lines) == 0 {
		return args, nil
	}
	var before []string
	// add appends a line's flags, and expands the configs they name.
	var add func(l rcLine, common bool) error
	expanded := map[string]bool{}
	expand := func(config string, fromCommandLine bool) error {
		if config == "" {
			return usagef("--config needs a name, as in --config=ci")
		}
		if expanded[config] {
			return nil // named twice, or a cycle
		}
		expanded[config] = true
		found := false
		for _, l := range lines {
			if l.config == config && (l.command == name || l.command == "common") {
				found = true
				if err := add(l, l.command == "common"); err != nil {
					return err
				}
			}
		}
		// A config named for every command (by a common line) may have
		// nothing for this one; one named on its command line must.
		if !found && fromCommandLine && !slices.ContainsFunc(lines, func(l rcLine) bool { return l.config == config }) {
			return usagef("--config=%s: no line of %s in %s says %s:%s or common:%s", config, RCFile, strings.Join(rcFiles(e, args), " or "), name, config, config)
		}
		return nil
	}
	add = func(l rcLine, common bool) error {
		flags := l.args
		if common {
			flags = knownFlags(root, cmd, flags)
		}
		for _, c := range configsIn(flags) {
			if err := expand(c, false); err != nil {
				return err
			}
		}
		before = append(before, withoutConfigs(flags)...)
		return nil
	}
	for _, l := range lines {
		if l.config == "" && l.command == "common" {
			if err := add(l, true); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range lines {
		if l.config == "" && l.command == name {
			if err := add(l, false); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range configsIn(args) {
		if err := expand(c, true); err != nil {
			return nil, err
		}
	}
	// The rc's flags go right after the command's name (which Find took
	// out of rest), so the command line's own come later and win.
	at, j := 0, 0
	for i, a := range args {
		if j < len(rest) && a == rest[j] {
			j++
		} else {
			at = i + 1
		}
	}
	return slices.Concat(args[:at], before, args[at:]), nil
}

// ignoreRC reports whether the command line says --ignore-rc (or
// --ignore-rc=true).
func ignoreRC(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if v, ok := strings.CutPrefix(a, "--ignore-rc="); ok {
			b, _ := strconv.ParseBool(v)
			return b
		}
		if a == "--ignore-rc" {
			return true
		}
	}
	return false
}

// configsIn are the configs flags name, as --config=NAME or --config NAME.
func configsIn(flags []string) []string {
	var out []string
	for i, f := range flags {
		if f == "--" {
			break
		}
		if v, ok := strings.CutPrefix(f, "--config="); ok {
			out = append(out, v)
		} else if f == "--config" && i+1 < len(flags) {
			out = append(out, flags[i+1])
		}
	}
	return out
}

// withoutConfigs is flags without their --config flags: those are
// expanded where they are named.
func withoutConfigs(flags []string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		switch {
		case strings.HasPrefix(flags[i], "--config="):
		case flags[i] == "--config":
			i++
		default:
			out = append(out, flags[i])
		}
	}
	return out
}

// knownFlags is flags without those cmd does not take (with their
// values): a common line serves every command.
func knownFlags(root, cmd *cobra.Command, flags []string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		name, _, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		short := !strings.HasPrefix(f, "--")
		lookup := func(fs *pflag.FlagSet) *pflag.Flag {
			if short {
				return fs.ShorthandLookup(name)
			}
			return fs.Lookup(name)
		}
		known := lookup(cmd.Flags()) != nil || lookup(cmd.InheritedFlags()) != nil
		// Whether the flag takes the next word as its value, by any
		// command's definition of it.
		takesValue := false
		if !hasValue && f != "--config" {
			for _, c := range append([]*cobra.Command{root}, root.Commands()...) {
				if fl := lookup(c.Flags()); fl != nil {
					takesValue = fl.NoOptDefVal == ""
					break
				}
				if fl := lookup(c.PersistentFlags()); fl != nil {
					takesValue = fl.NoOptDefVal == ""
					break
				}
			}
		}
		if f == "--config" {
			known, takesValue = true, true
		}
		if known {
			out = append(out, f)
			if takesValue && i+1 < len(flags) {
				out = append(out, flags[i+1])
			}
		}
		if takesValue {
			i++
		}
	}
	return out
}

// rcFiles are the rc files that apply: the home directory's, then the
// workspace's (found as a command finds it, from --workspace or the
// working directory).
func rcFiles(e *env, args []string) []string {
	var files []string
	if home := e.getenv("HOME"); home != "" {
		files = append(files, filepath.Join(home, RCFile))
	}
	dir := e.dir
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--workspace="); ok {
			dir = v
		} else if a == "--workspace" && i+1 < len(args) {
			dir = args[i+1]
		}
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(e.dir, dir)
	}
	if ws, err := rules.FindWorkspace(dir); err == nil {
		files = append(files, filepath.Join(ws.Root, RCFile))
	}
	var out []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func readRC(file string) ([]rcLine, error) {
	data, err := rules.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, usagef("%s: %v", file, err)
	}
	var lines []rcLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		words, err := shellWords(text)
		if err != nil {
			return nil, usagef("%s:%d: %v", file, n, err)
		}
		command, config, _ := strings.Cut(words[0], ":")
		if len(words) > 1 && !strings.HasPrefix(words[1], "-") {
			return nil, usagef("%s:%d: %q is not a flag: an rc line gives a command flags, not arguments", file, n, words[1])
		}
		lines = append(lines, rcLine{file: file, line: n, command: command, config: config, args: words[1:]})
	}
	return lines, nil
}

// shellWords splits a line into words as a shell would, for the quoting
// an rc file needs: '...' and "..." hold spaces.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("a quote (%c) is not closed", quote)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
