// Package rules is the Starlark world of imgraph: the builtins of
// IMAGES.star files, loading packages and the .star files they load(), and
// turning image(...) calls into Images.
package rules

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
	"golang.org/x/sync/errgroup"

	"github.com/imgraph/imgraph/label"
)

// Config is what a load depends on besides the files.
type Config struct {
	Platform string            // "" for the workspace's default
	Vars     map[string]string // --var name=value
	// Platforms are the names --platform and select() accept: the
	// platforms imgraph bakes for (nil: Platforms()).
	Platforms []string
	// MaxSteps bounds the Starlark steps of each file's run (0:
	// DefaultMaxSteps), so a loop that never ends fails with a message
	// rather than hanging.
	MaxSteps uint64
}

// DefaultMaxSteps is each file's Starlark budget: about half a second of
// work, far beyond what declaring images takes.
const DefaultMaxSteps = 100_000_000

// Package is one loaded IMAGES.star.
type Package struct {
	Path   string   // "" for the root package
	Images []*Image // in declaration order
}

// Result is the loaded part of a workspace.
type Result struct {
	Workspace *Workspace
	Platform  string
	Loaded    map[string]*Package
	Images    map[label.Label]*Image

	loader *Loader
}

// Line is the text of the source line at pos, for error messages.
func (r *Result) Line(pos Pos) string {
	if r.loader == nil {
		return ""
	}
	return r.loader.line(pos.File, pos.Line)
}

// Loader loads packages of one workspace under one configuration. It is
// safe for concurrent use; each package and each .star file runs once.
type Loader struct {
	ws          *Workspace
	platform    string
	platforms   []string
	maxSteps    uint64
	vars        map[string]string
	index       *packageIndex // the packages, found as they are asked for
	predeclared starlark.StringDict

	mu      sync.Mutex
	pkgs    map[string]*pkgLoad
	modules map[string]*moduleLoad
	loads   map[string][]string // .star file -> the files it loads, for cycle checks
	srcs    map[string][]byte   // workspace-relative file -> its text, for quoting
	lines   map[string][]int    // workspace-relative file -> where each line starts
	exists  sync.Map            // absolute path -> fileType: files stat'ed once however often named
}

type pkgLoad struct {
	once sync.Once
	pkg  *Package
	errs ErrorList
}

type moduleLoad struct {
	once    sync.Once
	globals starlark.StringDict
	err     error
}

// NewLoader prepares to load the workspace's packages. It reads nothing
// yet: packages are found as they are asked for.
func NewLoader(ws *Workspace, cfg Config) (*Loader, error) {
	platform := cfg.Platform
	if platform == "" {
		platform = ws.Platform
	}
	platforms := cfg.Platforms
	if platforms == nil {
		platforms = Platforms()
	}
	if !slices.Contains(platforms, platform) {
		return nil, &Error{Msg: fmt.Sprintf("unknown platform %q", platform), Hint: "the platforms are " + quoteAnd(platforms)}
	}
	l := &Loader{
		ws:        ws,
		platform:  platform,
		platforms: platforms,
		maxSteps:  cmp.Or(cfg.MaxSteps, DefaultMaxSteps),
		vars:      cfg.Vars,
		index:     newPackageIndex(ws),
		pkgs:      map[string]*pkgLoad{},
		modules:   map[string]*moduleLoad{},
		loads:     map[string][]string{},
		srcs:      map[string][]byte{},
		lines:     map[string][]int{},
	}
	l.predeclared = l.builtins()
	return l, nil
}

// Warnings are what finding the packages has noticed so far and did not
// stop at: directories that cannot be packages.
func (l *Loader) Warnings() []string { return l.index.warningsSoFar() }

// Platform is the platform every select() is resolved for.
func (l *Loader) Platform() string { return l.platform }

// Config is what the loader was made with (the platform resolved), so
// another workspace, such as an older revision of this one, can be loaded
// alike.
func (l *Loader) Config() Config {
	return Config{Platform: l.platform, Platforms: l.platforms, MaxSteps: l.maxSteps, Vars: l.vars}
}

// Packages lists every package of the workspace, sorted, walking the
// whole workspace (once).
func (l *Loader) Packages() ([]string, error) { return l.index.all() }

// PackagesBeneath lists the packages at and below dir, sorted, walking
// only dir's tree.
func (l *Loader) PackagesBeneath(dir string) ([]string, error) { return l.index.beneath(dir) }

// HasPackage reports whether pkg is a package of the workspace, looking
// along its path only.
func (l *Loader) HasPackage(pkg string) (bool, error) { return l.index.isPackage(pkg) }

// Load loads the packages pkgs and, transitively, the packages of the
// parents of the images wanted: the images of pkgs that want accepts (nil
// accepts every one), their parents, and theirs. Like Bazel, it follows
// what the wanted images need and no more: a parent's package is loaded,
// but the parents of that package's other images are not. It reports
// every error of every package loaded, and of every wanted image,
// together, as an ErrorList.
func (l *Loader) Load(ctx context.Context, pkgs []string, want func(label.Label) bool) (*Result, error) {
	res := &Result{
		Workspace: l.ws,
		Platform:  l.platform,
		Loaded:    map[string]*Package{},
		Images:    map[label.Label]*Image{},
		loader:    l,
	}
	var errs ErrorList
	wanted := map[label.Label]bool{}
	waiting := map[string][]*Image{} // package -> wanted images whose parent is in it
	// need marks im wanted and follows its parents as far as the loaded
	// packages go, asking for the package where they stop.
	var need func(im *Image)
	need = func(im *Image) {
		for ; im != nil && !wanted[im.Label]; im = res.Images[im.Parent] {
			wanted[im.Label] = true
			if im.Parent.IsZero() {
				return
			}
			pp := im.Parent.Pkg
			if ok, err := l.HasPackage(pp); err != nil || !ok {
				if err != nil {
					errs = append(errs, asErrorList(err)...)
				} else {
					errs = append(errs, l.at(im.Pos, "image %q: parent %s: %s", im.Label.Name, im.Parent, l.noPackage(pp)))
				}
				return
			}
			if res.Loaded[pp] == nil {
				waiting[pp] = append(waiting[pp], im)
				return
			}
		}
	}
	asked := map[string]bool{}
	for wave, first := pkgs, true; len(wave) > 0; first = false {
		for _, p := range wave {
			asked[p] = true
		}
		loaded, werrs, err := l.loadWave(ctx, wave)
		if err != nil {
			return nil, err
		}
		errs = append(errs, werrs...)
		for _, p := range loaded {
			res.Loaded[p.Path] = p
			for _, im := range p.Images {
				res.Images[im.Label] = im
			}
		}
		if first {
			// The packages asked for: their wanted images.
			for _, p := range loaded {
				for _, im := range p.Images {
					if want == nil || want(im.Label) {
						need(im)
					}
				}
			}
		}
		for _, p := range wave {
			children := waiting[p]
			delete(waiting, p)
			for _, child := range children {
				need(res.Images[child.Parent])
			}
		}
		// A package that failed to load is not asked for again: its error
		// is reported, and its images' children wait in vain.
		wave = nil
		for _, p := range slices.Sorted(maps.Keys(waiting)) {
			if !asked[p] {
				wave = append(wave, p)
			}
		}
	}
	errs = append(errs, l.checkParents(res, wanted)...)
	if len(errs) > 0 {
		return res, errs.sorted()
	}
	return res, nil
}

// loadWave loads the given packages in parallel.
func (l *Loader) loadWave(parent context.Context, pkgs []string) ([]*Package, ErrorList, error) {
	out := make([]*Package, len(pkgs))
	errLists := make([]ErrorList, len(pkgs))
	g, ctx := errgroup.WithContext(parent)
	g.SetLimit(2 * runtime.GOMAXPROCS(0))
	for i, p := range pkgs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			out[i], errLists[i] = l.loadPackage(ctx, p)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	if err := parent.Err(); err != nil {
		return nil, nil, err // what the cancelled runs said is beside the point
	}
	var pkgsOut []*Package
	var errs ErrorList
	for i := range pkgs {
		if out[i] != nil {
			pkgsOut = append(pkgsOut, out[i])
		}
		errs = append(errs, errLists[i]...)
	}
	return pkgsOut, errs, nil
}

// checkParents reports the wanted images whose parent names no image of
// a loaded package.
func (l *Loader) checkParents(res *Result, wanted map[label.Label]bool) ErrorList {
	var errs ErrorList
	for l2 := range wanted {
		im := res.Images[l2]
		if im == nil || im.Parent.IsZero() || res.Images[im.Parent] != nil {
			continue
		}
		p := res.Loaded[im.Parent.Pkg]
		if p == nil {
			continue // not a package, or it failed to load: that is reported
		}
		var names []string
		for _, other := range p.Images {
			names = append(names, other.Label.Name)
		}
		e := l.at(im.Pos, "image %q: parent %s does not exist: package //%s has no image %q", im.Label.Name, im.Parent, im.Parent.Pkg, im.Parent.Name)
		if near, ok := label.Nearest(im.Parent.Name, names); ok {
			e.Hint = fmt.Sprintf("did you mean %s?", label.Label{Pkg: im.Parent.Pkg, Name: near})
		}
		errs = append(errs, e)
	}
	return errs
}

// noPackage says that pkg is not a package, naming the nearest one.
func (l *Loader) noPackage(pkg string) string {
	// The nested workspaces are all known once the workspace is walked,
	// which the hint below does anyway.
	all, allErr := l.Packages()
	for _, root := range l.index.nestedRoots() {
		if pkg == root || strings.HasPrefix(pkg, root+"/") {
			return fmt.Sprintf("//%s is in another workspace: %s calls workspace(), and a workspace cannot name the images of another",
				pkg, path.Join(root, BuildFile))
		}
	}
	msg := fmt.Sprintf("package //%s does not exist (no %s in %s)", pkg, BuildFile, path.Join(".", pkg))
	if allErr == nil {
		if near, ok := label.Nearest(pkg, all); ok {
			msg += fmt.Sprintf("; did you mean //%s?", near)
		}
	}
	return msg
}

// loadPackage runs one package's IMAGES.star, once.
func (l *Loader) loadPackage(ctx context.Context, pkg string) (*Package, ErrorList) {
	l.mu.Lock()
	pl := l.pkgs[pkg]
	if pl == nil {
		pl = &pkgLoad{}
		l.pkgs[pkg] = pl
	}
	l.mu.Unlock()
	pl.once.Do(func() { pl.pkg, pl.errs = l.execPackage(ctx, pkg) })
	return pl.pkg, pl.errs
}

func (l *Loader) execPackage(ctx context.Context, pkg string) (*Package, ErrorList) {
	if ok, err := l.HasPackage(pkg); err != nil || !ok {
		if err != nil {
			return nil, asErrorList(err)
		}
		return nil, ErrorList{{Msg: l.noPackage(pkg)}}
	}
	file := path.Join(pkg, BuildFile)
	src, err := l.readSource(file)
	if err != nil {
		return nil, ErrorList{{Pos: Pos{File: file}, Msg: err.Error()}}
	}
	st := &pkgState{pkg: pkg, file: file, names: map[string]Pos{}}
	thread, stop := l.newThread(ctx, pkg, file, st, []string{file})
	_, err = starlark.ExecFileOptions(fileOptions, thread, file, src, l.predeclared)
	stop()
	errs := st.errs
	if err != nil {
		errs = append(errs, fromStarlark(err, l)...)
		return nil, errs
	}
	errs = append(errs, l.labelClashes(st)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return &Package{Path: pkg, Images: st.images}, nil
}

// labelClashes reports the files of a package that its images send and
// that have an image's name: //pkg:name would mean both.
func (l *Loader) labelClashes(st *pkgState) ErrorList {
	var errs ErrorList
	for _, im := range st.images {
		for _, f := range im.Files() {
			if f.Label.Pkg != st.pkg {
				continue
			}
			if pos, ok := st.names[f.Label.Name]; ok {
				e := l.at(pos, "//%s:%s names both the image %q and a file image %q sends", st.pkg, f.Label.Name, f.Label.Name, im.Label.Name)
				e.Hint = "rename the image or the file: a label names one target"
				errs = append(errs, e)
			}
		}
	}
	return errs
}

// fileOptions are the Starlark dialect of IMAGES.star and .star files.
var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, Recursion: false}

// threadState is what builtins know of the file being run.
type threadState struct {
	ctx    context.Context // cancels the run, and the runs of what it loads
	loader *Loader
	pkg    string    // the package relative paths and labels resolve against
	file   string    // the file being run (workspace-relative)
	build  *pkgState // nil while running a loaded .star file's top level
	chain  []string  // the load() chain that led here, for cycle errors
}

// pkgState collects what one IMAGES.star declares.
type pkgState struct {
	pkg    string
	file   string
	images []*Image
	names  map[string]Pos
	errs   ErrorList
}

const threadKey = "imgraph.thread"

// newThread is a thread to run file with, stopped when ctx ends or after
// the loader's step budget; stop releases it from ctx.
func (l *Loader) newThread(ctx context.Context, pkg, file string, build *pkgState, chain []string) (t *starlark.Thread, stop func() bool) {
	t = &starlark.Thread{Name: file, Load: l.load}
	t.SetLocal(threadKey, &threadState{ctx: ctx, loader: l, pkg: pkg, file: file, build: build, chain: chain})
	t.SetMaxExecutionSteps(l.maxSteps)
	return t, context.AfterFunc(ctx, func() { t.Cancel(context.Cause(ctx).Error()) })
}

func stateOf(t *starlark.Thread) *threadState {
	return t.Local(threadKey).(*threadState)
}

// load implements load("//pkg:file.star", ...) and load(":file.star").
func (l *Loader) load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	ts := stateOf(thread)
	file, err := l.moduleFile(ts, module)
	if err != nil {
		return nil, err
	}
	// Cycles are found in the load statements before anything runs, so no
	// two goroutines can ever wait on each other's modules.
	if cycle := l.loadCycle(file, nil); cycle != nil {
		return nil, fmt.Errorf("load cycle: %s", strings.Join(cycle, " -> "))
	}
	l.mu.Lock()
	m := l.modules[file]
	if m == nil {
		m = &moduleLoad{}
		l.modules[file] = m
	}
	l.mu.Unlock()
	m.once.Do(func() {
		src, err := l.readSource(file)
		if err != nil {
			m.err = err
			return
		}
		dir := path.Dir(file)
		if dir == "." {
			dir = ""
		}
		t, stop := l.newThread(ts.ctx, dir, file, nil, append(ts.chain[:len(ts.chain):len(ts.chain)], file))
		m.globals, m.err = starlark.ExecFileOptions(fileOptions, t, file, src, l.predeclared)
		stop()
		if m.err != nil {
			m.err = fromStarlark(m.err, l)
		}
	})
	if m.err != nil {
		var list ErrorList
		if errors.As(m.err, &list) {
			return nil, fmt.Errorf("in %s: %w", file, list)
		}
		return nil, m.err
	}
	return m.globals, nil
}

// moduleFile resolves the label of a load() to a workspace-relative file.
func (l *Loader) moduleFile(ts *threadState, module string) (string, error) {
	lbl, err := label.ParseRelative(module, ts.pkg)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(lbl.Name, ".star") {
		return "", fmt.Errorf("load(%q): only .star files can be loaded", module)
	}
	file := path.Join(lbl.Pkg, lbl.Name)
	if _, err := os.Stat(l.abs(file)); err != nil {
		return "", fmt.Errorf("%s does not exist", file)
	}
	return file, nil
}

// loadCycle returns the load chain from file back to itself, if any.
func (l *Loader) loadCycle(file string, stack []string) []string {
	for i, f := range stack {
		if f == file {
			return append(append([]string{}, stack[i:]...), file)
		}
	}
	stack = append(stack, file)
	for _, dep := range l.loadsOf(file) {
		if c := l.loadCycle(dep, stack); c != nil {
			return c
		}
	}
	return nil
}

// loadsOf lists the files a .star file loads, read from its syntax.
func (l *Loader) loadsOf(file string) []string {
	l.mu.Lock()
	deps, ok := l.loads[file]
	l.mu.Unlock()
	if ok {
		return deps
	}
	src, err := l.readSource(file)
	if err == nil {
		if f, err := fileOptions.Parse(file, src, 0); err == nil {
			dir := path.Dir(file)
			if dir == "." {
				dir = ""
			}
			for _, stmt := range f.Stmts {
				if ld, ok := stmt.(*syntax.LoadStmt); ok {
					if dep, err := l.moduleFile(&threadState{pkg: dir}, ld.ModuleName()); err == nil {
						deps = append(deps, dep)
					}
				}
			}
		}
	}
	l.mu.Lock()
	l.loads[file] = deps
	l.mu.Unlock()
	return deps
}

// fileType reports whether path exists and, following symbolic links,
// its type. The walk that found the packages has read most directories
// already; elsewhere the file system is asked once per path: thousands of
// images name the same few scripts.
func (l *Loader) fileType(path string) (typ fs.FileMode, exists bool) {
	if typ, exists, known := l.index.lookup(path); known {
		return typ, exists
	}
	if v, ok := l.exists.Load(path); ok {
		ft := v.(fileType)
		return ft.typ, ft.exists
	}
	info, err := os.Stat(path)
	ft := fileType{exists: err == nil}
	if err == nil {
		ft.typ = info.Mode().Type()
	}
	l.exists.Store(path, ft)
	return ft.typ, ft.exists
}

// fileType is what the loader remembers of a path it stat'ed.
type fileType struct {
	typ    fs.FileMode
	exists bool
}

func (l *Loader) abs(file string) string {
	return filepath.Join(l.ws.Root, filepath.FromSlash(file))
}

func (l *Loader) readSource(file string) ([]byte, error) {
	l.mu.Lock()
	src, ok := l.srcs[file]
	l.mu.Unlock()
	if ok {
		return src, nil
	}
	if src, ok := l.index.source(file); ok {
		l.mu.Lock()
		l.srcs[file] = src
		l.mu.Unlock()
		return src, nil
	}
	src, err := ReadFile(l.abs(file))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist", file)
		}
		return nil, err
	}
	l.mu.Lock()
	l.srcs[file] = src
	l.mu.Unlock()
	return src, nil
}

// line quotes line n of a file already read. Every builtin call asks for
// its line (see callee), so each file's line starts are indexed once.
func (l *Loader) line(file string, n int32) string {
	return string(l.lineBytes(file, n))
}

// lineBytes is line n of file without a copy.
func (l *Loader) lineBytes(file string, n int32) []byte {
	l.mu.Lock()
	src := l.srcs[file]
	starts, ok := l.lines[file]
	if !ok {
		starts = []int{0}
		for i, c := range src {
			if c == '\n' {
				starts = append(starts, i+1)
			}
		}
		l.lines[file] = starts
	}
	l.mu.Unlock()
	if n < 1 || int(n) > len(starts) {
		return nil
	}
	line := src[starts[n-1]:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return bytes.TrimRight(line, "\r")
}

// at makes an Error at pos quoting its line.
func (l *Loader) at(pos Pos, format string, args ...any) *Error {
	return at(pos, l, format, args...)
}

// SortedLabels lists the labels of images, sorted.
func SortedLabels(images map[label.Label]*Image) []label.Label {
	ls := make([]label.Label, 0, len(images))
	for l := range images {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Less(ls[j]) })
	return ls
}
