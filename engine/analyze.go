package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// PatternError is a target pattern that names nothing in the workspace.
type PatternError struct {
	Pattern label.Pattern
	Msg     string
	Hint    string
}

func (e *PatternError) Error() string {
	s := fmt.Sprintf("pattern %s: %s", e.Pattern, e.Msg)
	if e.Hint != "" {
		s += "\n  hint: " + e.Hint
	}
	return s
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *PatternError) BadInput() bool { return true }

// PackageFinder finds a workspace's packages as they are asked for
// (rules.Loader is one).
type PackageFinder interface {
	Packages() ([]string, error)                  // every package: the whole workspace walked
	PackagesBeneath(dir string) ([]string, error) // the packages at and below dir
	HasPackage(pkg string) (bool, error)
}

// PackagesFor lists the packages the positive patterns name, finding no
// more of the workspace than they need. A pattern that names a package
// that does not exist, or finds no package beneath it, is an error.
func PackagesFor(f PackageFinder, patterns []label.Pattern) ([]string, error) {
	set := map[string]bool{}
	for _, p := range patterns {
		if p.Negative {
			continue
		}
		if !p.Recursive {
			ok, err := f.HasPackage(p.Pkg)
			if err != nil {
				return nil, err
			}
			if !ok {
				e := &PatternError{Pattern: p, Msg: fmt.Sprintf("package //%s does not exist", p.Pkg)}
				if all, err := f.Packages(); err == nil {
					if near, ok := label.Nearest(p.Pkg, all); ok {
						e.Hint = fmt.Sprintf("did you mean //%s?", near)
					}
				}
				return nil, e
			}
			set[p.Pkg] = true
			continue
		}
		pkgs, err := f.PackagesBeneath(p.Pkg)
		if err != nil {
			return nil, err
		}
		if len(pkgs) == 0 {
			return nil, &PatternError{Pattern: p, Msg: fmt.Sprintf("no packages found beneath //%s", p.Pkg)}
		}
		for _, pkg := range pkgs {
			set[pkg] = true
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// checkSingles reports a single-target pattern whose image does not exist.
func checkSingles(res *rules.Result, patterns []label.Pattern) error {
	for _, p := range patterns {
		l, ok := p.Single()
		if !ok || p.Negative || res.Images[l] != nil {
			continue
		}
		e := &PatternError{Pattern: p, Msg: fmt.Sprintf("package //%s has no image %q", l.Pkg, l.Name)}
		var names []string
		if pkg := res.Loaded[l.Pkg]; pkg != nil {
			for _, im := range pkg.Images {
				names = append(names, im.Label.Name)
			}
		}
		if near, ok := label.Nearest(l.Name, names); ok {
			e.Hint = fmt.Sprintf("did you mean %s?", label.Label{Pkg: l.Pkg, Name: near})
		} else if len(names) > 0 {
			sort.Strings(names)
			e.Hint = fmt.Sprintf("its images are %s", joinAnd(names))
		}
		return e
	}
	return nil
}

// Analysis is a loaded, keyed graph: everything a plan, build or explain
// needs before it asks a cache or a cloud.
type Analysis struct {
	Result      *rules.Result
	Platform    bake.Platform
	Graph       *Graph
	Targets     []label.Label // the images the patterns select, graph order
	Closure     []label.Label // the targets and all their ancestors, graph order
	Keys        map[label.Label]Key
	Sources     map[label.Label]string // the image id each root image starts from (see SourceIDs)
	Lock        *Lock
	LockChanges []LockChange // what resolving missing sources changed
}

// AnalyzeOptions say what to analyse and how the lock may change.
type AnalyzeOptions struct {
	Patterns []label.Pattern
	Platform bake.Platform // the platform the loader resolved select() for
	Locked   bool          // --locked: a lock that would change is an error
	Resolver Resolver      // resolves floating sources missing from the lock
	Digests  DigestCache   // what unchanged files hold (nil: every file is read)
	// Span, when set, times each step for a profile: it is called as a
	// step begins, and what it returns as the step ends.
	Span func(step string) (end func())
}

// Analyze loads the packages the patterns need, builds the graph, brings
// the lock up to date (in memory) and computes every key.
func Analyze(ctx context.Context, l *rules.Loader, opt AnalyzeOptions) (*Analysis, error) {
	if opt.Platform == nil || opt.Platform.Name() != l.Platform() {
		return nil, fmt.Errorf("internal: analysing for the %s platform with a loader of the %s platform", platformName(opt.Platform), l.Platform())
	}
	span := opt.Span
	if span == nil {
		span = func(string) func() { return func() {} }
	}
	end := span("load")
	a, err := LoadGraph(ctx, l, opt.Patterns)
	end()
	if err != nil {
		return nil, err
	}
	a.Platform = opt.Platform
	end = span("keys")
	err = a.key(ctx, opt)
	end()
	if err != nil {
		return nil, err
	}
	return a, nil
}

// LoadGraph loads the packages the patterns need, and those of the
// parents of the images they select, and builds the graph, without
// touching the lock or computing keys.
func LoadGraph(ctx context.Context, l *rules.Loader, patterns []label.Pattern) (*Analysis, error) {
	pkgs, err := PackagesFor(l, patterns)
	if err != nil {
		return nil, err
	}
	res, err := l.Load(ctx, pkgs, func(im label.Label) bool {
		chosen := false // as Select chooses: the last pattern that matches
		for _, p := range patterns {
			if p.Matches(im, false) {
				chosen = !p.Negative
			}
		}
		return chosen
	})
	if err != nil {
		return nil, err
	}
	if err := checkSingles(res, patterns); err != nil {
		return nil, err
	}
	g, err := NewGraph(res.Images)
	if err != nil {
		return nil, quoteLines(res, err)
	}
	a := &Analysis{Result: res, Graph: g}
	a.Targets = Select(g, patterns)
	a.Closure = g.Closure(a.Targets)
	return a, nil
}

func (a *Analysis) key(ctx context.Context, opt AnalyzeOptions) error {
	region := a.Result.Workspace.HomeRegion
	lock, err := ReadLock(a.Result.Workspace.Root)
	if err != nil {
		return err
	}
	if err := lock.Check(a.Platform); err != nil {
		return err
	}
	resolver := opt.Resolver
	if resolver == nil {
		resolver = NoResolver{}
	}
	a.Lock, a.LockChanges, err = UpdateLock(ctx, a.Graph, a.Closure, lock, region, resolver, LockOptions{Locked: opt.Locked})
	if err != nil {
		return err
	}
	if a.Sources, err = SourceIDs(a.Graph, a.Closure, a.Lock, region); err != nil {
		return err
	}
	a.Keys, err = Keys(ctx, a.Graph, a.Closure, KeyConfig{Platform: a.Platform, Sources: a.Sources, Digests: opt.Digests})
	return quoteLines(a.Result, err)
}

func platformName(p bake.Platform) string {
	if p == nil {
		return "no"
	}
	return p.Name()
}

// quoteLines adds the source line to errors found after loading, which
// know their position but not the text there.
func quoteLines(res *rules.Result, err error) error {
	var cycle *CycleError
	var list rules.ErrorList
	switch {
	case errors.As(err, &cycle):
		cycle.Line = res.Line(cycle.Pos)
	case errors.As(err, &list):
		for _, e := range list {
			if e.Line == "" && e.Pos.Line > 0 {
				e.Line = res.Line(e.Pos)
			}
		}
	}
	return err
}
