package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/cache/remote"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// session is what every command that reads the workspace sets up, and the
// pipeline build, plan and explain share: open the workspace, the caches
// and the platform, then analyse and plan.
type session struct {
	e        *env
	opts     *options
	ws       *rules.Workspace
	loader   *rules.Loader
	cwd      string // the package of the working directory
	runID    string
	platform platform

	local    *cache.Local // once opened
	caches   *caches      // once opened
	baker    bake.Baker
	bakerErr error
	reached  bool // reach was called: baker or bakerErr is set
	warned   map[string]bool
}

func openSession(e *env, opts *options) (*session, error) {
	dir := e.dir
	if opts.workspace != "" {
		dir = opts.workspace
		if !strings.HasPrefix(dir, "/") {
			dir = e.dir + "/" + dir
		}
	}
	ws, err := rules.FindWorkspace(dir)
	if err != nil {
		return nil, err
	}
	vars, err := readVarFile(e, opts.varFile)
	if err != nil {
		return nil, err
	}
	for _, v := range opts.vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usagef("--var %q: want name=value", v)
		}
		vars[k] = val
	}
	loader, err := rules.NewLoader(ws, rules.Config{Platform: opts.platform, Vars: vars, Platforms: platformNames()})
	if err != nil {
		return nil, err
	}
	p, err := platformNamed(loader.Platform())
	if err != nil {
		return nil, err
	}
	return &session{e: e, opts: opts, ws: ws, loader: loader, cwd: ws.PackageOf(e.dir), runID: newRunID(), platform: p}, nil
}

func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(b[:])
}

// patterns parses the command line's target patterns; none means //...
func (s *session) patterns(args []string) ([]label.Pattern, error) {
	if len(args) == 0 {
		args = []string{"//..."}
	}
	var ps []label.Pattern
	positive := false
	for _, a := range args {
		p, err := label.ParsePattern(a, s.cwd)
		if err != nil {
			return nil, err
		}
		positive = positive || !p.Negative
		ps = append(ps, p)
	}
	if !positive {
		// As in Bazel, patterns that only subtract subtract from nothing;
		// say so rather than build nothing in silence.
		return nil, usagef("every pattern is negative (%s), so nothing is selected\n  hint: add a positive pattern first, such as //... %s", strings.Join(args, " "), strings.Join(args, " "))
	}
	return ps, nil
}

// single parses the one image label a command takes.
func (s *session) single(verb, arg string) (label.Label, error) {
	p, err := label.ParsePattern(arg, s.cwd)
	if err != nil {
		return label.Label{}, err
	}
	l, ok := p.Single()
	if !ok || p.Negative {
		return label.Label{}, usagef("%s takes one image label, not the pattern %q", verb, arg)
	}
	return l, nil
}

// caches are the caches a command reads and writes: always the local
// directory, and the shared remote cache layered over it when one is named.
type caches struct {
	local  *cache.Local
	shared *remote.Store // nil: no shared cache
	store  interface {
		engine.Store
		cache.Locker
	}
}

// cache opens, once, the cache the flags or the workspace name: a
// directory, or s3://BUCKET/PREFIX?table=TABLE layered over the default
// directory.
func (s *session) cache(ctx context.Context) (*caches, error) {
	if s.caches != nil {
		return s.caches, nil
	}
	e, opts := s.e, s.opts
	local, err := s.localCache()
	if err != nil {
		return nil, err
	}
	loc := s.cacheLocation()
	c := &caches{local: local, store: local}
	if remote.IsURL(loc) {
		where, err := remote.ParseURL(loc)
		if err != nil {
			return nil, err
		}
		c.shared, err = remote.Open(ctx, where, remote.Options{RunID: s.runID, Profile: opts.profile, Warn: e.warn})
		if err != nil {
			return nil, err
		}
		c.store = &cache.Layered{Local: local, Shared: c.shared, Warn: e.warn}
	}
	s.caches = c
	return c, nil
}

// reach opens, once, the platform's baker: an account, or this machine.
func (s *session) reach(ctx context.Context) (bake.Baker, error) {
	if !s.reached {
		c, err := s.cache(ctx)
		if err != nil {
			return nil, err
		}
		s.baker, s.bakerErr = s.platform.reach(ctx, s.e, s.opts, c.local)
		s.reached = true
	}
	return s.baker, s.bakerErr
}

// cacheLocation is the cache the command line or the workspace names:
// a directory, an s3:// URL, or "" for the default directory.
func (s *session) cacheLocation() string {
	if s.opts.cache == "" && s.ws != nil {
		return s.ws.Cache
	}
	return s.opts.cache
}

// localCache opens the local cache directory, once: the cache itself, or
// the local layer of a shared one.
func (s *session) localCache() (*cache.Local, error) {
	if s.local != nil {
		return s.local, nil
	}
	loc := s.cacheLocation()
	dir := loc
	if remote.IsURL(loc) || loc == "" {
		d, err := cache.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	} else if strings.Contains(loc, "://") {
		return nil, usagef("--cache %q: a cache is a directory or s3://BUCKET/PREFIX?table=TABLE", loc)
	} else if !strings.HasPrefix(loc, "/") {
		dir = s.e.dir + "/" + loc
	}
	local, err := cache.OpenLocal(dir, s.e.warn)
	if err != nil {
		return nil, err
	}
	s.local = local
	return local, nil
}

// resolver resolves the floating sources the lock lacks through the
// platform, reached only if one is missing.
func (s *session) resolver() engine.Resolver {
	return resolverFunc(func(ctx context.Context, region string, src *rules.Source) (bake.Resolved, error) {
		baker, err := s.reach(ctx)
		if err != nil {
			return engine.NoResolver{Err: err}.Resolve(ctx, region, src)
		}
		return baker.Resolve(ctx, region, src)
	})
}

type resolverFunc func(ctx context.Context, region string, src *rules.Source) (bake.Resolved, error)

func (f resolverFunc) Resolve(ctx context.Context, region string, src *rules.Source) (bake.Resolved, error) {
	return f(ctx, region, src)
}

// analyze loads and keys the images the command line's patterns select.
func (s *session) analyze(ctx context.Context, args []string) (*engine.Analysis, error) {
	ps, err := s.patterns(args)
	if err != nil {
		return nil, err
	}
	defer s.warnLoading()
	local, err := s.localCache()
	if err != nil {
		return nil, err
	}
	// Files unchanged since a command last read them are not read again.
	digests := local.Digests()
	a, err := engine.Analyze(ctx, s.loader, engine.AnalyzeOptions{
		Patterns: ps, Platform: s.platform, Locked: s.opts.locked, Resolver: s.resolver(), Digests: digests,
		Span: s.opts.span,
	})
	if err == nil {
		if serr := digests.Save(); serr != nil {
			s.e.warn("%v", serr)
		}
	}
	return a, err
}

// loadGraph loads the images patterns select, and their ancestors.
func (s *session) loadGraph(ctx context.Context, patterns []label.Pattern) (*engine.Analysis, error) {
	defer s.warnLoading()
	return engine.LoadGraph(ctx, s.loader, patterns)
}

// warnLoading prints, once each, what finding the packages noticed.
func (s *session) warnLoading() {
	for _, w := range s.loader.Warnings() {
		if !s.warned[w] {
			if s.warned == nil {
				s.warned = map[string]bool{}
			}
			s.warned[w] = true
			s.e.warn("%s", w)
		}
	}
}

// plan is the pipeline build and plan share: analyse, then plan against
// the cache and, where it can be reached, the platform's images. A
// platform that cannot be reached is an error when needBaker is set, and
// a note otherwise: the plan then trusts the cache as it is.
func (s *session) plan(ctx context.Context, args []string, needBaker bool) (*engine.Analysis, *engine.Plan, error) {
	end := s.opts.span("open the cache")
	c, err := s.cache(ctx)
	end()
	if err != nil {
		return nil, nil, err
	}
	end = s.opts.span("reach the platform")
	baker, reachErr := s.reach(ctx)
	end()
	if reachErr != nil && needBaker {
		return nil, nil, reachErr
	}
	a, err := s.analyze(ctx, args)
	if err != nil {
		return nil, nil, err
	}
	var images engine.Images
	if reachErr == nil {
		images = baker
	} else {
		first, _, _ := strings.Cut(reachErr.Error(), "\n")
		fmt.Fprintf(s.e.stderr, "note: the %s platform cannot be reached (%s): cached images are not checked\n", s.platform.Name(), first)
	}
	end = s.opts.span("plan")
	p, err := engine.MakePlan(ctx, a, c.store, images)
	end()
	if err != nil {
		return nil, nil, err
	}
	for _, w := range p.Warnings {
		s.e.warn("%s", w)
	}
	return a, p, nil
}
