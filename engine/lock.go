package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// LockVersion is the version of IMAGES.lock's format.
const LockVersion = 1

// Lock is IMAGES.lock: every floating source resolved once, so builds are
// reproducible until someone runs `imgraph lock --update`.
type Lock struct {
	Version int            `json:"version"`
	Sources []LockedSource `json:"sources"`
}

// LockedSource is one floating source resolved in one region.
type LockedSource struct {
	Source  string   `json:"source"` // as written: ami_filter(owners = [...], name = "...")
	Region  string   `json:"region"`
	ID      string   `json:"id"`                // the image it resolved to
	Name    string   `json:"name,omitempty"`    // that image's name, for review
	Created string   `json:"created,omitempty"` // that image's creation date
	UsedBy  []string `json:"used_by,omitempty"` // labels of the images that name it
}

// Find returns the recorded resolution of source in region.
func (l *Lock) Find(source, region string) (LockedSource, bool) {
	if l == nil {
		return LockedSource{}, false
	}
	i := sort.Search(len(l.Sources), func(i int) bool {
		s := l.Sources[i]
		return s.Source > source || s.Source == source && s.Region >= region
	})
	if i < len(l.Sources) && l.Sources[i].Source == source && l.Sources[i].Region == region {
		return l.Sources[i], true
	}
	return LockedSource{}, false
}

func (l *Lock) sort() {
	sort.Slice(l.Sources, func(i, j int) bool {
		a, b := l.Sources[i], l.Sources[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Region < b.Region
	})
}

// LockError is an IMAGES.lock that cannot be read.
type LockError struct {
	Path string
	Err  error
}

func (e *LockError) Error() string {
	return fmt.Sprintf("%s: %v\n  hint: fix the file, or delete it and run `imgraph lock` to resolve every source again", e.Path, e.Err)
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *LockError) BadInput() bool { return true }

// ReadLock reads IMAGES.lock at the workspace root; a missing file is an
// empty lock.
func ReadLock(root string) (*Lock, error) {
	path := filepath.Join(root, rules.LockFile)
	data, err := rules.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Version: LockVersion}, nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &LockError{rules.LockFile, fmt.Errorf("cannot read it: %w", err)}
	}
	var l Lock
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, &LockError{rules.LockFile, fmt.Errorf("not a lock file: %v", err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &LockError{rules.LockFile, fmt.Errorf("not a lock file: more after the lock's closing brace (a bad merge?)")}
	}
	if l.Version != LockVersion {
		return nil, &LockError{rules.LockFile, fmt.Errorf("version %d; this imgraph reads version %d", l.Version, LockVersion)}
	}
	for _, s := range l.Sources {
		if s.Source == "" || s.Region == "" || s.ID == "" {
			return nil, &LockError{rules.LockFile, fmt.Errorf("an entry lacks source, region or id")}
		}
	}
	l.sort()
	for i := 1; i < len(l.Sources); i++ {
		if a, b := l.Sources[i-1], l.Sources[i]; a.Source == b.Source && a.Region == b.Region {
			return nil, &LockError{rules.LockFile, fmt.Errorf("%s in %s is locked twice (%s and %s)", a.Source, a.Region, a.ID, b.ID)}
		}
	}
	return &l, nil
}

// Check reports the entries of sources platform bakes whose id is not
// one of its images' (a hand-edited or damaged lock); the entries of other
// platforms are theirs to check.
func (l *Lock) Check(platform bake.Platform) error {
	for _, s := range l.Sources {
		if !bakes(platform, s.Source) {
			continue
		}
		if err := platform.CheckImageID(s.ID); err != nil {
			return &LockError{rules.LockFile, fmt.Errorf("%s in %s: %v", s.Source, s.Region, err)}
		}
	}
	return nil
}

// bakes reports whether platform bakes the source an entry describes.
func bakes(platform bake.Platform, source string) bool {
	return platform.Accepts(&rules.Source{Kind: rules.DescribedKind(source)})
}

// Write writes the lock atomically, sorted and indented for review.
func (l *Lock) Write(root string) error {
	l.sort()
	if l.Sources == nil {
		l.Sources = []LockedSource{} // "sources": [], never null
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	path := filepath.Join(root, rules.LockFile)
	tmp, err := os.CreateTemp(root, ".IMAGES.lock.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Resolver resolves floating sources; a bake.Baker is one.
type Resolver interface {
	Resolve(ctx context.Context, region string, src *rules.Source) (bake.Resolved, error)
}

// NoResolver stands for a platform that cannot be reached: Err says why.
type NoResolver struct{ Err error }

// Resolve always fails, saying why.
func (n NoResolver) Resolve(_ context.Context, region string, src *rules.Source) (bake.Resolved, error) {
	why := errors.New("no platform was reached to resolve it")
	if n.Err != nil {
		first, _, _ := strings.Cut(n.Err.Error(), "\n")
		why = fmt.Errorf("the %s platform cannot be reached (%s)", src.Platform(), first)
	}
	return bake.Resolved{}, &ResolveError{Source: src.Describe(), Platform: src.Platform(), Region: region, Err: why}
}

// ResolveError is a floating source that could not be resolved.
type ResolveError struct {
	Source, Platform, Region string
	Err                      error
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("cannot resolve %s in %s: %v\n  hint: pin it with ami(\"ami-...\"), or lock it where the %s platform is reachable: imgraph lock --platform %s",
		e.Source, e.Region, e.Err, e.Platform, e.Platform)
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *ResolveError) BadInput() bool { return true }

// StaleLockError is a lock that does not cover the sources of a build.
type StaleLockError struct {
	Missing []LockedSource
}

func (e *StaleLockError) Error() string {
	var b strings.Builder
	b.WriteString("IMAGES.lock is out of date:")
	for _, m := range e.Missing {
		fmt.Fprintf(&b, "\n  %s in %s is not locked (used by %s)", m.Source, m.Region, strings.Join(m.UsedBy, ", "))
	}
	b.WriteString("\n  hint: run `imgraph lock` and commit IMAGES.lock")
	return b.String()
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *StaleLockError) BadInput() bool { return true }

// floatingSources lists the floating sources of images, each with the
// labels that use it.
func floatingSources(g *Graph, labels []label.Label, region string) []LockedSource {
	by := map[string]*LockedSource{}
	var order []string
	for _, l := range labels {
		im := g.Images[l]
		if im.Source == nil || !im.Source.Floating() {
			continue
		}
		d := im.Source.Describe()
		if by[d] == nil {
			by[d] = &LockedSource{Source: d, Region: region}
			order = append(order, d)
		}
		by[d].UsedBy = append(by[d].UsedBy, l.String())
	}
	sort.Strings(order)
	out := make([]LockedSource, len(order))
	for i, d := range order {
		out[i] = *by[d]
		sort.Strings(out[i].UsedBy)
	}
	return out
}

// sourceOf finds the source an entry describes among the images.
func sourceOf(g *Graph, labels []label.Label, desc string) *rules.Source {
	for _, l := range labels {
		if s := g.Images[l].Source; s != nil && s.Describe() == desc {
			return s
		}
	}
	return nil
}

// LockChange is one entry a lock update adds, changes or removes.
type LockChange struct {
	Source, Region string
	Was, Now       string // "" when added or removed
}

func (c LockChange) String() string {
	switch {
	case c.Was == "":
		return fmt.Sprintf("+ %s in %s: %s", c.Source, c.Region, c.Now)
	case c.Now == "":
		return fmt.Sprintf("- %s in %s (was %s)", c.Source, c.Region, c.Was)
	}
	return fmt.Sprintf("~ %s in %s: %s → %s", c.Source, c.Region, c.Was, c.Now)
}

// LockOptions say how far a lock may change.
type LockOptions struct {
	Locked bool // the lock may not change: a missing entry is an error
	Update bool // re-resolve the sources of the images in labels
	// Prune drops the entries of Platform's sources that no image in
	// labels uses (labels is then the whole workspace); the entries of
	// other platforms' sources are never touched.
	Prune    bool
	Platform bake.Platform
}

// UpdateLock brings lock up to date for the images in labels: missing
// entries are resolved, and with Update every entry they use is resolved
// again. It returns the new lock and what changed; lock is not modified.
func UpdateLock(ctx context.Context, g *Graph, labels []label.Label, lock *Lock, region string, r Resolver, opt LockOptions) (*Lock, []LockChange, error) {
	want := floatingSources(g, labels, region)
	next := &Lock{Version: LockVersion}
	var changes []LockChange
	var missing []LockedSource
	used := map[string]bool{}
	for _, w := range want {
		used[w.Source+"\x00"+w.Region] = true
		old, ok := lock.Find(w.Source, w.Region)
		if ok && !opt.Update {
			old.UsedBy = w.UsedBy
			next.Sources = append(next.Sources, old)
			continue
		}
		if opt.Locked {
			missing = append(missing, w)
			continue
		}
		res, err := r.Resolve(ctx, w.Region, sourceOf(g, labels, w.Source))
		if err != nil {
			return nil, nil, err
		}
		e := LockedSource{Source: w.Source, Region: w.Region, ID: res.ID, Name: res.Name, Created: res.Created, UsedBy: w.UsedBy}
		next.Sources = append(next.Sources, e)
		switch {
		case !ok:
			changes = append(changes, LockChange{Source: w.Source, Region: w.Region, Now: e.ID})
		case old.ID != e.ID:
			changes = append(changes, LockChange{Source: w.Source, Region: w.Region, Was: old.ID, Now: e.ID})
		}
	}
	if len(missing) > 0 {
		return nil, nil, &StaleLockError{Missing: missing}
	}
	for _, old := range lock.Sources {
		if used[old.Source+"\x00"+old.Region] {
			continue
		}
		if opt.Prune && bakes(opt.Platform, old.Source) {
			changes = append(changes, LockChange{Source: old.Source, Region: old.Region, Was: old.ID})
			continue
		}
		next.Sources = append(next.Sources, old)
	}
	next.sort()
	return next, changes, nil
}
