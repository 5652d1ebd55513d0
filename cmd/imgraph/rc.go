package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
// flags, the command's, then those of each --config the command line (or
// the rc files) names.
func withRC(root *cobra.Command, e *env, args []string) ([]string, error) {
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root || slices.Contains(args, "--ignore-rc") {
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
	for _, l := range lines {
		if l.config == "" && l.command == "common" {
			before = append(before, l.args...)
		}
	}
	for _, l := range lines {
		if l.config == "" && l.command == name {
			before = append(before, l.args...)
		}
	}
	// --config=NAME expands where the rc files and the command line ask.
	var configs []string
	for _, a := range slices.Concat(before, args) {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			configs = append(configs, v)
		}
	}
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			configs = append(configs, args[i+1])
		}
	}
	for _, c := range configs {
		found := false
		for _, l := range lines {
			if l.config == c && (l.command == name || l.command == "common") {
				before = append(before, l.args...)
				found = true
			}
		}
		if !found {
			return nil, usagef("--config=%s: no line of %s in %s says %s:%s or common:%s", c, RCFile, strings.Join(rcFiles(e, args), " or "), name, c, c)
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
