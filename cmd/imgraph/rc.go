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
	// add appends a line's flags in order, expanding each --config where
	// it stands (as Bazel does), so the flags after it override it.
	var add func(flags []string, common bool, stack []string) error
	var expand func(config string, stack []string) error
	expand = func(config string, stack []string) error {
		if config == "" {
			return usagef("--config needs a name, as in --config=ci")
		}
		if slices.Contains(stack, config) {
			return usagef("--config=%s names itself: %s", config, strings.Join(append(stack, config), " -> "))
		}
		// A config may have nothing for this command (a common line
		// serves every command); one that no line defines is a mistake.
		if !slices.ContainsFunc(lines, func(l rcLine) bool { return l.config == config }) {
			return usagef("--config=%s: no line of %s in %s says %s:%s or common:%s", config, RCFile, strings.Join(rcFiles(e, args), " or "), name, config, config)
		}
		for _, l := range lines {
			if l.config == config && (l.command == name || l.command == "common") {
				if err := add(l.args, l.command == "common", append(stack, config)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	add = func(flags []string, common bool, stack []string) error {
		if common {
			flags = knownFlags(root, cmd, flags)
		}
		for i := 0; i < len(flags); i++ {
			f := flags[i]
			switch {
			case strings.HasPrefix(f, "--config="):
				if err := expand(strings.TrimPrefix(f, "--config="), stack); err != nil {
					return err
				}
			case f == "--config":
				if i+1 == len(flags) {
					return usagef("--config needs a name, as in --config=ci")
				}
				i++
				if err := expand(flags[i], stack); err != nil {
					return err
				}
			default:
				before = append(before, f)
			}
		}
		return nil
	}
	for _, l := range lines {
		if l.config == "" && l.command == "common" {
			if err := add(l.args, true, nil); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range lines {
		if l.config == "" && l.command == name {
			if err := add(l.args, false, nil); err != nil {
				return nil, err
			}
		}
	}
	// The command line's configs expand after the rc's own lines, even
	// one a line named: the command line wins.
	for _, c := range configsIn(args) {
		if err := expand(c, nil); err != nil {
			return nil, err
		}
	}
	// The command's words, then the rc's flags, then every other word of
	// the command line in its order (Find took the command's words out of
	// rest): the command line's flags, before the command's name or after
	// it, come later and win.
	words := strings.Fields(strings.TrimPrefix(cmd.CommandPath(), root.Name()))
	return slices.Concat(words, before, rest), nil
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

// knownFlags is flags without those cmd does not take (with their
// values): a common line serves every command.
func knownFlags(root, cmd *cobra.Command, flags []string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		if !strings.HasPrefix(f, "-") || f == "-" || f == "--" {
			continue // the value of a flag left out
		}
		var name string
		var hasValue, short bool
		if strings.HasPrefix(f, "--") {
			name, _, hasValue = strings.Cut(f[2:], "=")
		} else {
			// -j, -j8, -kj8: the first letter names the flag; anything
			// after it is its value, or more flags, and stays with it.
			name, hasValue, short = string([]rune(f[1:])[0]), len([]rune(f)) > 2, true
		}
		lookup := func(fs *pflag.FlagSet) *pflag.Flag {
			if short {
				return fs.ShorthandLookup(name)
			}
			return fs.Lookup(name)
		}
		if name == "config" {
			// Expanded where it stands, for whichever command it serves.
			out = append(out, f)
			if !hasValue && i+1 < len(flags) {
				out = append(out, flags[i+1])
				i++
			}
			continue
		}
		known := lookup(cmd.Flags()) != nil || lookup(cmd.InheritedFlags()) != nil
		// Whether the flag takes the next word as its value, by any
		// command's definition of it.
		takesValue := false
		if !hasValue {
			for _, c := range append([]*cobra.Command{root}, root.Commands()...) {
				fl := lookup(c.Flags())
				if fl == nil {
					fl = lookup(c.PersistentFlags())
				}
				if fl != nil {
					takesValue = fl.NoOptDefVal == ""
					break
				}
			}
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
