package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"go.starlark.net/syntax"

	"github.com/imgraph/imgraph/label"
)

// A package is a directory below the root (or the root itself) holding an
// IMAGES.star, except in ignored directories and nested workspaces. As in
// Bazel, packages are found as they are asked for: //... walks the whole
// workspace, //dir/... the tree of dir alone, and a label's package is
// looked for along its path, so that a pattern costs what it names and
// not what the workspace holds.

// Packages lists every package of the workspace, sorted.
func (ws *Workspace) Packages() ([]string, error) {
	return newPackageIndex(ws).all()
}

// packageIndex is what a Loader knows of the workspace's packages: the
// trees it walked, and the paths it looked along. It reads no directory
// twice, and keeps the IMAGES.star files it read for loading.
type packageIndex struct {
	ws *Workspace

	mu       sync.Mutex
	known    map[string]bool                   // package path -> whether it is a package
	walked   []string                          // trees walked whole ("" is the workspace)
	dirs     map[string]map[string]fs.FileMode // directory read (absolute) -> its entries' types
	srcs     map[string][]byte                 // workspace-relative IMAGES.star -> its text
	verdicts map[string]dirVerdict             // directory (relative) -> whether packages may be below it
	warnings []string                          // directories that cannot be packages
	nested   []string                          // the roots of workspaces within this one
}

// dirVerdict is what looking at one directory on a path said.
type dirVerdict struct {
	ok  bool // packages may be in it and below it
	err error
}

func newPackageIndex(ws *Workspace) *packageIndex {
	return &packageIndex{ws: ws, known: map[string]bool{}, dirs: map[string]map[string]fs.FileMode{},
		srcs: map[string][]byte{}, verdicts: map[string]dirVerdict{}}
}

// all lists every package of the workspace, sorted.
func (x *packageIndex) all() ([]string, error) { return x.beneath("") }

// beneath lists the packages at and below dir (relative, "" for the
// root), sorted, walking its tree unless a walk already covered it.
func (x *packageIndex) beneath(dir string) ([]string, error) {
	x.mu.Lock()
	covered := x.coveredLocked(dir)
	x.mu.Unlock()
	if !covered {
		if err := x.walk(dir); err != nil {
			return nil, err
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for p, isPkg := range x.known {
		if isPkg && (dir == "" || p == dir || strings.HasPrefix(p, dir+"/")) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// isPackage reports whether pkg is a package, looking along its path
// unless a walk already saw it.
func (x *packageIndex) isPackage(pkg string) (bool, error) {
	x.mu.Lock()
	isPkg, known := x.known[pkg]
	if !known && x.coveredLocked(pkg) {
		isPkg, known = false, true
	}
	x.mu.Unlock()
	if known {
		return isPkg, nil
	}
	ok, err := x.reachable(pkg)
	if err != nil || !ok {
		x.remember(pkg, false)
		return false, err
	}
	return x.look(pkg)
}

// coveredLocked reports whether a walk covered dir.
func (x *packageIndex) coveredLocked(dir string) bool {
	for _, w := range x.walked {
		if w == "" || dir == w || strings.HasPrefix(dir, w+"/") {
			return true
		}
	}
	return false
}

func (x *packageIndex) remember(pkg string, isPkg bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.known[pkg] = isPkg
}

// walk finds every package at and below dir, reading directories in
// parallel: in a large monorepo the walk is most of the cost of finding
// what to load.
func (x *packageIndex) walk(dir string) error {
	if dir != "" {
		ok, err := x.reachable(dir)
		if err != nil {
			return err
		}
		if !ok {
			x.mu.Lock()
			x.walked = append(x.walked, dir)
			x.mu.Unlock()
			return nil
		}
	}
	abs := x.abs(dir)
	entries, err := os.ReadDir(abs)
	if err != nil {
		if dir == "" {
			return err
		}
		return ErrorList{{Pos: Pos{File: dir}, Msg: "cannot read this directory: " + readError(err).Error(),
			Hint: "make it readable, or move it out of the workspace"}}
	}
	sc := &scanner{root: x.ws.Root, srcs: map[string][]byte{}, dirs: map[string]map[string]fs.FileMode{},
		slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
	sc.wg.Add(1)
	sc.dir(abs, dir, entries)
	sc.wg.Wait()
	if len(sc.errs) > 0 {
		return sc.errs.sorted()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range sc.pkgs {
		x.known[p] = true
	}
	for f, src := range sc.srcs {
		x.srcs[f] = src
	}
	for d, types := range sc.dirs {
		x.dirs[d] = types
	}
	x.addWarningsLocked(sc.warnings...)
	x.nested = append(x.nested, sc.nested...)
	x.walked = append(x.walked, dir)
	return nil
}

// reachable reports whether packages may be at dir: each directory from
// the root down to it, dir included, is a directory the walk of the whole
// workspace would enter, and none above dir is the root of a nested
// workspace.
func (x *packageIndex) reachable(dir string) (bool, error) {
	if dir == "" {
		return true, nil
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		v := x.verdict(strings.Join(parts[:i+1], "/"), i < len(parts)-1)
		if v.err != nil || !v.ok {
			return false, v.err
		}
	}
	return true, nil
}

// verdict looks at one directory on a path, once: whether the walk
// would enter it, and, for a directory above the one asked about,
// whether its IMAGES.star makes it a workspace of its own.
func (x *packageIndex) verdict(dir string, above bool) dirVerdict {
	key := dir
	if above {
		key += "/"
	}
	x.mu.Lock()
	v, ok := x.verdicts[key]
	x.mu.Unlock()
	if ok {
		return v
	}
	v = x.judge(dir, above)
	x.mu.Lock()
	x.verdicts[key] = v
	x.mu.Unlock()
	return v
}

func (x *packageIndex) judge(dir string, above bool) dirVerdict {
	if ignoredDirs[path.Base(dir)] {
		return dirVerdict{}
	}
	abs := x.abs(dir)
	info, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return dirVerdict{}
	case err != nil:
		return dirVerdict{err: ErrorList{{Pos: Pos{File: dir}, Msg: "cannot read this directory: " + readError(err).Error(),
			Hint: "make it readable, or move it out of the workspace"}}}
	case !info.IsDir():
		return dirVerdict{} // symbolic links are not followed, as by the walk
	}
	if _, err := os.Lstat(filepath.Join(abs, IgnoreMarker)); err == nil {
		return dirVerdict{}
	}
	if !above {
		return dirVerdict{ok: true}
	}
	isPkg, err := x.look(dir)
	if err != nil {
		return dirVerdict{err: err}
	}
	x.mu.Lock()
	nested := slices.Contains(x.nested, dir)
	x.mu.Unlock()
	return dirVerdict{ok: isPkg || !nested}
}

// look reads dir's IMAGES.star, if it has one, and says whether dir is a
// package: it is not when the file calls workspace(), or when dir's path
// cannot be in a label.
func (x *packageIndex) look(dir string) (bool, error) {
	file := path.Join(dir, BuildFile)
	src, err := ReadFile(x.abs(file))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		x.remember(dir, false)
		return false, nil
	}
	if err != nil {
		return false, ErrorList{{Pos: Pos{File: file}, Msg: readError(err).Error(), Hint: "a package's IMAGES.star is a file imgraph can read"}}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if msg := label.CheckPackage(dir); msg != "" {
		x.addWarningsLocked(notAPackage(file, dir, msg))
		x.known[dir] = false
		return false, nil
	}
	if callsWorkspace(dir, src) {
		if !slices.Contains(x.nested, dir) {
			x.nested = append(x.nested, dir)
		}
		x.known[dir] = false
		return false, nil
	}
	x.known[dir] = true
	x.srcs[file] = src
	return true, nil
}

func (x *packageIndex) addWarningsLocked(ws ...string) {
	for _, w := range ws {
		if !slices.Contains(x.warnings, w) {
			x.warnings = append(x.warnings, w)
		}
	}
}

// source hands over the text of an IMAGES.star the index read.
func (x *packageIndex) source(file string) ([]byte, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	src, ok := x.srcs[file]
	return src, ok
}

// lookup says whether the file at the absolute path p was seen by a
// walk: known is false where no walk read p's directory.
func (x *packageIndex) lookup(p string) (typ fs.FileMode, exists, known bool) {
	x.mu.Lock()
	entries, ok := x.dirs[filepath.Dir(p)]
	x.mu.Unlock()
	if !ok {
		return 0, false, false
	}
	typ, ok = entries[filepath.Base(p)]
	if typ&fs.ModeSymlink != 0 {
		return 0, false, false // what it points to is for stat to say
	}
	return typ, ok, true
}

// nestedRoots are the roots of workspaces within this one found so far.
func (x *packageIndex) nestedRoots() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.nested)
}

// warningsSoFar are the directories found so far that cannot be packages.
func (x *packageIndex) warningsSoFar() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Sorted(slices.Values(x.warnings))
}

func (x *packageIndex) abs(rel string) string {
	return filepath.Join(x.ws.Root, filepath.FromSlash(rel))
}

// callsWorkspace reports whether the IMAGES.star of dir, a directory
// below the root, makes it the root of a workspace of its own.
func callsWorkspace(dir string, src []byte) bool {
	if dir == "" || !mayCallWorkspace(src) {
		return false
	}
	f, err := (&syntax.FileOptions{}).Parse(BuildFile, src, 0)
	return err == nil && workspaceCall(f) != nil
}

func notAPackage(file, dir, msg string) string {
	return fmt.Sprintf("%s is not a package: its path %q cannot be in a label (%s); rename the directory", file, dir, msg)
}

// scanner is one walk of a tree of the workspace.
type scanner struct {
	root  string
	slots chan struct{} // bounds the directories read at once
	wg    sync.WaitGroup

	mu       sync.Mutex
	pkgs     []string                          // the packages found
	srcs     map[string][]byte                 // workspace-relative IMAGES.star -> its text
	dirs     map[string]map[string]fs.FileMode // directory read -> its entries' types
	errs     ErrorList                         // what the walk could not read
	warnings []string                          // directories that cannot be packages
	nested   []string                          // the roots of workspaces within this one
}

// dir records the package at dir (rel to the root), if it is one, and
// walks its subdirectories, each on a goroutine of its own.
func (sc *scanner) dir(dir, rel string, entries []fs.DirEntry) {
	defer sc.wg.Done()
	types := make(map[string]fs.FileMode, len(entries))
	for _, e := range entries {
		types[e.Name()] = e.Type()
	}
	sc.mu.Lock()
	sc.dirs[dir] = types
	sc.mu.Unlock()
	for _, e := range entries {
		if e.Name() != BuildFile {
			continue
		}
		file := path.Join(rel, BuildFile)
		src, err := ReadFile(filepath.Join(dir, BuildFile))
		if err != nil {
			sc.fail(&Error{Pos: Pos{File: file}, Msg: readError(err).Error(), Hint: "a package's IMAGES.star is a file imgraph can read"})
			return
		}
		if msg := label.CheckPackage(rel); msg != "" {
			sc.warn(notAPackage(file, rel, msg))
			break
		}
		if callsWorkspace(rel, src) {
			sc.mu.Lock()
			sc.nested = append(sc.nested, rel)
			sc.mu.Unlock()
			return // a workspace of its own
		}
		sc.mu.Lock()
		sc.pkgs = append(sc.pkgs, rel)
		sc.srcs[file] = src
		sc.mu.Unlock()
	}
	for _, e := range entries {
		if !e.IsDir() || ignoredDirs[e.Name()] {
			continue
		}
		sc.wg.Add(1)
		go func() {
			sub := filepath.Join(dir, e.Name())
			sc.slots <- struct{}{}
			entries, err := os.ReadDir(sub)
			<-sc.slots
			if err != nil {
				// It may hold packages: say so, rather than skip them.
				rel := path.Join(rel, e.Name())
				sc.fail(&Error{Pos: Pos{File: rel}, Msg: "cannot read this directory: " + readError(err).Error(),
					Hint: "make it readable, or move it out of the workspace"})
				sc.wg.Done()
				return
			}
			if hasEntry(entries, IgnoreMarker) {
				sc.wg.Done()
				return
			}
			sc.dir(sub, path.Join(rel, e.Name()), entries)
		}()
	}
}

// fail records what the walk could not read; every one is reported.
func (sc *scanner) fail(err *Error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.errs = append(sc.errs, err)
}

// warn records a directory that cannot be a package.
func (sc *scanner) warn(msg string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.warnings = append(sc.warnings, msg)
}
