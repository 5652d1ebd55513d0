package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.golden")

// A golden file holds many cases, each a paragraph of text:
//
//	=== name of the case
//	args: plan //...
//	cwd: apps            (optional: the directory to run in)
//	exit: 2              (optional: the exit code, 2 by default)
//	-- IMAGES.star --
//	workspace(name = "t")
//	-- base/IMAGES.star --
//	...
//	-- want --
//	the exact output, stdout then stderr
//
// Every file of a case is written into a fresh workspace; a name ending in
// "/" makes an empty directory. $WORKSPACE in the output stands for it,
// and $CACHE for the cache directory the case runs with.
type goldenCase struct {
	name  string
	args  []string
	cwd   string
	exit  int
	files []goldenFile
	want  string
	line  int // where the case starts, for messages
}

type goldenFile struct{ name, body string }

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.golden")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".golden"), func(t *testing.T) {
			cases, err := readGolden(file)
			if err != nil {
				t.Fatal(err)
			}
			changed := false
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got, code := runGolden(t, c)
					if code != c.exit {
						t.Errorf("%s:%d: exit code %d, want %d\n%s", file, c.line, code, c.exit, got)
					}
					if got != c.want {
						if *update {
							c.want = got
							changed = true
							return
						}
						t.Errorf("%s:%d: output differs\n--- got ---\n%s--- want ---\n%s", file, c.line, got, c.want)
					}
				})
			}
			if changed {
				if err := writeGolden(file, cases); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func runGolden(t *testing.T, c *goldenCase) (string, int) {
	t.Helper()
	root := t.TempDir()
	for _, f := range c.files {
		p := filepath.Join(root, filepath.FromSlash(f.name))
		if strings.HasSuffix(f.name, "/") {
			// Chmod as well: a root filesystem's modes are in its key,
			// and the umask must not change the keys a case prints.
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f.name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(f.body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	e := &env{dir: filepath.Join(root, c.cwd), stdin: strings.NewReader(""), stdout: &out, stderr: &out,
		getenv: func(string) string { return "" }, lookupEnv: func(string) (string, bool) { return "", false }}
	cacheDir := filepath.Join(t.TempDir(), "cache")
	args := append([]string{"--cache", cacheDir}, c.args...)
	code := run(context.Background(), e, args)
	return strings.NewReplacer(root, "$WORKSPACE", cacheDir, "$CACHE").Replace(out.String()), code
}

func readGolden(file string) ([]*goldenCase, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var cases []*goldenCase
	var cur *goldenCase
	var section *string
	lines := strings.SplitAfter(string(data), "\n")
	for i, line := range lines {
		trimmed := strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(trimmed, "=== "):
			cur = &goldenCase{name: strings.TrimPrefix(trimmed, "=== "), exit: exitBadInput, line: i + 1}
			cases = append(cases, cur)
			section = nil
		case cur == nil:
			// Text before the first case is commentary.
		case strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --"):
			name := strings.TrimSuffix(strings.TrimPrefix(trimmed, "-- "), " --")
			if name == "want" {
				section = &cur.want
			} else {
				cur.files = append(cur.files, goldenFile{name: name})
				section = &cur.files[len(cur.files)-1].body
			}
		case section != nil:
			*section += line
		case strings.HasPrefix(trimmed, "args:"):
			cur.args, err = splitArgs(strings.TrimPrefix(trimmed, "args:"))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, i+1, err)
			}
		case strings.HasPrefix(trimmed, "cwd:"):
			cur.cwd = strings.TrimSpace(strings.TrimPrefix(trimmed, "cwd:"))
		case strings.HasPrefix(trimmed, "exit:"):
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(trimmed, "exit:")))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, i+1, err)
			}
			cur.exit = n
		case trimmed == "":
		default:
			return nil, fmt.Errorf("%s:%d: unexpected line %q", file, i+1, trimmed)
		}
	}
	for _, c := range cases {
		// Keep the blank line that separates cases out of the last section.
		c.want = strings.TrimRight(c.want, "\n") + "\n"
		if len(c.args) == 0 {
			return nil, fmt.Errorf("%s:%d: case %q has no args", file, c.line, c.name)
		}
	}
	return cases, nil
}

func writeGolden(file string, cases []*goldenCase) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	// Keep the commentary before the first case.
	head := string(data)
	if i := strings.Index(head, "=== "); i >= 0 {
		head = head[:i]
	}
	var b strings.Builder
	b.WriteString(head)
	for i, c := range cases {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "=== %s\n", c.name)
		args := make([]string, len(c.args))
		for j, a := range c.args {
			args[j] = a
			if a == "" || strings.ContainsAny(a, " \t\"\\") {
				args[j] = strconv.Quote(a)
			}
		}
		fmt.Fprintf(&b, "args: %s\n", strings.Join(args, " "))
		if c.cwd != "" {
			fmt.Fprintf(&b, "cwd: %s\n", c.cwd)
		}
		if c.exit != exitBadInput {
			fmt.Fprintf(&b, "exit: %d\n", c.exit)
		}
		for _, f := range c.files {
			fmt.Fprintf(&b, "-- %s --\n", f.name)
			if f.body != "" {
				b.WriteString(strings.TrimRight(f.body, "\n") + "\n")
			}
		}
		fmt.Fprintf(&b, "-- want --\n%s", c.want)
	}
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// splitArgs splits a line into words; a word in double quotes is a Go
// string literal and may hold spaces.
func splitArgs(line string) ([]string, error) {
	var args []string
	for {
		line = strings.TrimLeft(line, " \t")
		if line == "" {
			return args, nil
		}
		if line[0] != '"' {
			end := strings.IndexAny(line, " \t")
			if end < 0 {
				end = len(line)
			}
			args = append(args, line[:end])
			line = line[end:]
			continue
		}
		end := 1
		for end < len(line) && line[end] != '"' {
			if line[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(line) {
			return nil, fmt.Errorf("unterminated quote in %q", line)
		}
		word, err := strconv.Unquote(line[:end+1])
		if err != nil {
			return nil, err
		}
		args = append(args, word)
		line = line[end+1:]
	}
}
