package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.starlark.net/syntax"
)

// BuildFile is the name of the file that makes a directory a package.
const BuildFile = "IMAGES.star"

// LockFile is the name of the lock file at the workspace root.
const LockFile = "IMAGES.lock"

// OutDir is the directory of build outputs at the workspace root.
const OutDir = "imgraph-out"

// ignoredDirs are never searched for packages.
var ignoredDirs = map[string]bool{".git": true, "node_modules": true, OutDir: true}

// Ignored reports whether a directory of this name is never searched for
// packages, nor for the .star files of a workspace.
func Ignored(dirName string) bool { return ignoredDirs[dirName] }

// IgnoreMarker in a directory hides it and everything below it.
const IgnoreMarker = ".imgraphignore"

// FindWorkspace finds the workspace whose root is dir or its nearest
// ancestor with an IMAGES.star that calls workspace(...) at top level.
func FindWorkspace(dir string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return nil, &Error{Msg: fmt.Sprintf("%s: %v", abs, err), Hint: "the workspace is a directory: pass --workspace DIR"}
	}
	for d := abs; ; {
		file := filepath.Join(d, BuildFile)
		src, err := ReadFile(file)
		switch {
		case err == nil:
			ws, err := parseWorkspace(d, src)
			if err != nil {
				return nil, err
			}
			if ws != nil {
				return ws, nil
			}
		case !errors.Is(err, fs.ErrNotExist):
			// Not a file imgraph can read: whether it declares a
			// workspace cannot be known.
			return nil, &Error{Msg: fmt.Sprintf("%s: %v", file, readError(err)), Hint: "an IMAGES.star is a file imgraph can read"}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil, &Error{
				Msg:  fmt.Sprintf("no workspace found at or above %s", abs),
				Hint: "the workspace root is a directory whose IMAGES.star calls workspace(name = ...); pass --workspace DIR to name it",
			}
		}
		d = parent
	}
}

// mayCallWorkspace is a cheap test run on every package's file before
// parsing it to look for a top-level workspace() call.
func mayCallWorkspace(src []byte) bool { return bytes.Contains(src, []byte("workspace")) }

// parseWorkspace reads the workspace(...) call of a root IMAGES.star. Its
// arguments must be literals: the platform they name decides every select(),
// so they are known before any Starlark runs. It returns nil, nil when the
// file has no top-level workspace call.
func parseWorkspace(dir string, src []byte) (*Workspace, error) {
	if !mayCallWorkspace(src) {
		return nil, nil
	}
	f, err := (&syntax.FileOptions{}).Parse(BuildFile, src, 0)
	if err != nil {
		return nil, fromStarlark(err, fileSource{BuildFile: src})
	}
	call := workspaceCall(f)
	if call == nil {
		return nil, nil
	}
	ws := &Workspace{Root: dir, HomeRegion: "us-east-1", Platform: PlatformAWS}
	src2 := fileSource{BuildFile: src}
	var errs ErrorList
	seen := map[string]bool{}
	for _, arg := range call.Args {
		bin, ok := arg.(*syntax.BinaryExpr)
		if !ok || bin.Op != syntax.EQ {
			start, _ := arg.Span()
			errs = append(errs, at(posOf(start), src2, "workspace() takes only keyword arguments"))
			continue
		}
		key := bin.X.(*syntax.Ident)
		kpos := posOf(key.NamePos)
		lit, ok := bin.Y.(*syntax.Literal)
		if !ok || lit.Token != syntax.STRING {
			start, _ := bin.Y.Span()
			errs = append(errs, at(posOf(start), src2, "workspace(%s = ...) must be a string literal", key.Name))
			continue
		}
		val := lit.Value.(string)
		vpos := posOf(lit.TokenPos)
		if seen[key.Name] {
			errs = append(errs, at(kpos, src2, "workspace() got %s twice", key.Name))
		}
		seen[key.Name] = true
		switch key.Name {
		case "name":
			ws.Name = val
		case "home_region":
			if msg, hint := checkRegion(val); msg != "" {
				e := at(vpos, src2, "workspace(home_region = %q): %s", val, msg)
				e.Hint = hint
				errs = append(errs, e)
			}
			ws.HomeRegion = val
		case "platform":
			if !slices.Contains(Platforms(), val) {
				errs = append(errs, at(vpos, src2, "workspace(platform = %q): the platforms are %s", val, quoteAnd(Platforms())))
			}
			ws.Platform = val
		case "cache":
			ws.Cache = val
		default:
			errs = append(errs, at(kpos, src2, "workspace() has no argument %q (it takes name, home_region, platform, cache)", key.Name))
		}
	}
	if ws.Name == "" && len(errs) == 0 {
		start, _ := call.Span()
		errs = append(errs, at(posOf(start), src2, "workspace() needs name = \"...\""))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return ws, nil
}

// workspaceCall finds a top-level workspace(...) call statement.
func workspaceCall(f *syntax.File) *syntax.CallExpr {
	for _, stmt := range f.Stmts {
		es, ok := stmt.(*syntax.ExprStmt)
		if !ok {
			continue
		}
		call, ok := es.X.(*syntax.CallExpr)
		if !ok {
			continue
		}
		if id, ok := call.Fn.(*syntax.Ident); ok && id.Name == "workspace" {
			return call
		}
	}
	return nil
}

// fileSource quotes lines of files held in memory.
type fileSource map[string][]byte

func (s fileSource) line(file string, n int32) string { return nthLine(s[file], n) }

func nthLine(src []byte, n int32) string {
	for i := int32(1); i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return string(bytes.TrimRight(src, "\r"))
}

// readError says why a path could not be read without repeating the path.
func readError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func hasEntry(entries []fs.DirEntry, name string) bool {
	for _, e := range entries {
		if e.Name() == name {
			return true
		}
	}
	return false
}

// PackageOf returns the package path of directory dir, relative to the
// workspace root, for resolving relative labels and patterns.
func (ws *Workspace) PackageOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(ws.Root, abs)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.ToSlash(rel)
}
