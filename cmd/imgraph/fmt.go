package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bazelbuild/buildtools/build"
	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

func fmtCommand(e *env, opts *options) *cobra.Command {
	var check, diff bool
	c := &cobra.Command{
		Use:   "fmt [files | patterns]",
		Short: "Format IMAGES.star and .star files canonically",
		Long: `Fmt formats Starlark files the way buildifier formats Bazel's, with
Bazel's own formatter: indentation, line breaks, quotes, and load()
statements at the top, merged and sorted. Lists are sorted only where a
"# keep sorted" comment asks, since a list's order (provisioners,
regions) can matter.

With no arguments it formats every .star file of the workspace; a file
names itself, and a pattern (//apps/...) names the .star files of the
directories it covers (//pkg and //pkg:all the package's own). --check
changes nothing, lists the files that would change and exits 1 if there
are any; --diff prints what would change.`,
		RunE: func(c *cobra.Command, args []string) error {
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			files, err := starFiles(s, args)
			if err != nil {
				return err
			}
			var unformatted []string
			var bad rules.ErrorList
			for _, f := range files {
				src, err := rules.ReadFile(f)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(s.ws.Root, f)
				out, ferr := formatStar(rel, src)
				if ferr != nil {
					bad = append(bad, ferr)
					continue
				}
				if bytes.Equal(out, src) {
					continue
				}
				shown, _ := filepath.Rel(e.dir, f)
				unformatted = append(unformatted, shown)
				switch {
				case diff:
					writeDiff(e.stdout, shown, src, out)
				case check:
				default:
					if err := os.WriteFile(f, out, 0o644); err != nil {
						return err
					}
				}
			}
			if len(bad) > 0 {
				return bad
			}
			if check {
				for _, f := range unformatted {
					fmt.Fprintln(e.stdout, f)
				}
				if len(unformatted) > 0 {
					return exitStatus(exitBakeFailed)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&check, "check", false, "change nothing; list the files that would change, and exit 1 if any would")
	c.Flags().BoolVar(&diff, "diff", false, "change nothing; print what would change")
	return c
}

// formatStar is src formatted, or an error at the place it does not parse.
func formatStar(file string, src []byte) ([]byte, *rules.Error) {
	f, err := build.ParseDefault(file, src)
	if err != nil {
		var perr build.ParseError
		if errors.As(err, &perr) {
			return nil, &rules.Error{Pos: rules.Pos{File: file, Line: int32(perr.Pos.Line), Col: int32(perr.Pos.LineRune)},
				Msg: "cannot format: " + perr.Message}
		}
		return nil, &rules.Error{Pos: rules.Pos{File: file}, Msg: "cannot format: " + err.Error()}
	}
	// Buildifier's rewrites that never change what a file means: no list
	// is sorted unless it asks to be, and no call's arguments reordered.
	w := &build.Rewriter{RewriteSet: []string{"listsort", "loadTop", "sameOriginLoad", "sortLoadStatements",
		"loadsort", "formatdocstrings", "editoctal", "editfloat"}}
	return build.FormatWithRewriter(w, f), nil
}

// starFiles are the .star files args name (all of the workspace's when
// none), as absolute paths, sorted.
func starFiles(s *session, args []string) ([]string, error) {
	var files []string
	walk := func(dir string) error {
		return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != dir && rules.Ignored(d.Name()) {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".star") {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(args) == 0 {
		args = []string{"//..."}
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "//") && !strings.HasPrefix(a, ":") && strings.HasSuffix(a, ".star") {
			p := a
			if !filepath.IsAbs(p) {
				p = filepath.Join(s.e.dir, p)
			}
			if _, err := os.Stat(p); err != nil {
				return nil, usagef("fmt %s: %v", a, errors.Unwrap(err))
			}
			files = append(files, p)
			continue
		}
		p, err := label.ParsePattern(a, s.cwd)
		if err != nil {
			return nil, err
		}
		if p.Negative {
			return nil, usagef("fmt %s: fmt takes files and positive patterns", a)
		}
		dir := filepath.Join(s.ws.Root, filepath.FromSlash(p.Pkg))
		if p.Recursive {
			if err := walk(dir); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := engine.PackagesFor(s.loader, []label.Pattern{p}); err != nil {
			return nil, err
		}
		files = append(files, filepath.Join(dir, rules.BuildFile))
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// writeDiff prints the change from old to new as a unified diff of one
// hunk: the lines between the first and the last that differ.
func writeDiff(w io.Writer, name string, old, new []byte) {
	a, b := splitLines(old), splitLines(new)
	start := 0
	for start < len(a) && start < len(b) && a[start] == b[start] {
		start++
	}
	endA, endB := len(a), len(b)
	for endA > start && endB > start && a[endA-1] == b[endB-1] {
		endA--
		endB--
	}
	const context = 3
	from, toA, toB := max(start-context, 0), min(endA+context, len(a)), min(endB+context, len(b))
	fmt.Fprintf(w, "--- %s\n+++ %s (formatted)\n", name, name)
	fmt.Fprintf(w, "@@ -%d,%d +%d,%d @@\n", from+1, toA-from, from+1, toB-from)
	for _, l := range a[from:start] {
		fmt.Fprintf(w, " %s\n", l)
	}
	for _, l := range a[start:endA] {
		fmt.Fprintf(w, "-%s\n", l)
	}
	for _, l := range b[start:endB] {
		fmt.Fprintf(w, "+%s\n", l)
	}
	for _, l := range a[endA:toA] {
		fmt.Fprintf(w, " %s\n", l)
	}
}

func splitLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
