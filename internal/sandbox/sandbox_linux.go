package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// probeTimeout bounds New's check that a sandbox starts: a few
// milliseconds where namespaces work.
const probeTimeout = 30 * time.Second

// Sandbox is how this machine isolates commands, as New found by starting
// one. It is safe for concurrent use.
type Sandbox struct {
	userns bool // through a user namespace mapping root to the caller
	owners bool // CopyTree keeps file ownership (the caller is real root)
	// asRoot is why a caller that is root goes through a user namespace
	// all the same.
	asRoot error
	// noOverlay is why a step cannot be an overlay here; nil when it can.
	noOverlay error
}

// New starts a sandbox around an empty tree it makes in dir (the system's
// temporary directory when dir is "") to see how this machine isolates
// commands: as root with the namespaces made directly, otherwise (or if
// that fails) through a user namespace. When neither works it returns an
// *UnavailableError. MaybeRun must have run first in main (or TestMain).
func New(ctx context.Context, dir string) (*Sandbox, error) {
	return newSandbox(ctx, dir, os.Geteuid() == 0)
}

// NewUserNamespace is New for sandboxes that always go through a user
// namespace, as they do for a caller that is not root.
func NewUserNamespace(ctx context.Context, dir string) (*Sandbox, error) {
	return newSandbox(ctx, dir, false)
}

func newSandbox(ctx context.Context, dir string, asRoot bool) (*Sandbox, error) {
	if !ready.Load() {
		return nil, errors.New("sandbox: MaybeRun must run first in main (and in TestMain of tests that start sandboxes): " +
			"a sandbox is this program re-executed")
	}
	s := &Sandbox{owners: os.Geteuid() == 0}
	if asRoot {
		err := s.probe(ctx, dir)
		if err == nil {
			s.noOverlay = s.probeOverlay(ctx, dir)
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.asRoot = err
	}
	s.userns = true
	if err := s.probe(ctx, dir); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnavailableError{AsRoot: s.asRoot, UserNamespace: err}
	}
	s.noOverlay = s.probeOverlay(ctx, dir)
	return s, nil
}

// probeOverlay mounts an overlay of an empty layer in a sandbox, writes
// and deletes through it, and checks what the upper directory recorded.
func (s *Sandbox) probeOverlay(ctx context.Context, dir string) error {
	base, err := os.MkdirTemp(dir, ".tmp-probe-overlay-*")
	if err != nil {
		return err
	}
	defer RemoveTree(base)
	ov := &Overlay{Lower: []string{filepath.Join(base, "lower")}, Upper: filepath.Join(base, "upper"), Work: filepath.Join(base, "work")}
	root := filepath.Join(base, "root")
	for _, d := range []string{ov.Lower[0], ov.Upper, ov.Work, root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(ov.Lower[0], "gone"), nil, 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var out bytes.Buffer
	err = s.Run(ctx, &Step{Root: root, Overlay: ov, Scrub: "/gone"}, nil, &out, &out)
	if err != nil {
		if out.Len() > 0 {
			err = fmt.Errorf("%w (%s)", err, strings.TrimSpace(out.String()))
		}
		return err
	}
	if !IsWhiteout(filepath.Join(ov.Upper, "gone")) {
		return errors.New("a file deleted through the overlay left no whiteout")
	}
	return nil
}

// Overlays reports why steps cannot be overlays on this machine (no
// overlayfs, or not in a user namespace), or nil when they can.
func (s *Sandbox) Overlays() error { return s.noOverlay }

// probe starts one sandbox around an empty tree, with every mount a
// command's sandbox makes.
func (s *Sandbox) probe(ctx context.Context, dir string) error {
	root, err := os.MkdirTemp(dir, ".tmp-probe-*")
	if err != nil {
		return err
	}
	defer RemoveTree(root)
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var out bytes.Buffer
	err = s.Run(ctx, &Step{Root: root, Mounts: true}, nil, &out, &out)
	if err != nil && out.Len() > 0 {
		err = fmt.Errorf("%w (%s)", err, strings.TrimSpace(out.String()))
	}
	return err
}

// UserNamespace reports whether sandboxes go through a user namespace
// mapping root to the caller, where no other user or group exists.
func (s *Sandbox) UserNamespace() bool { return s.userns }

// RootError is why sandboxes go through a user namespace although the
// caller is root: New could not make the namespaces as root. It is nil
// otherwise.
func (s *Sandbox) RootError() error { return s.asRoot }

// CopyTree copies the directory tree src to dst, which must not exist:
// symlinks are recreated, never followed; modes, times and (for a caller
// that is root) ownership are kept. What cannot be copied, such as a device
// node without root, is skipped and told to warn, which may be nil. A
// failed copy leaves no dst.
func (s *Sandbox) CopyTree(ctx context.Context, src, dst string, warn func(format string, args ...any)) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("copying to %s: it exists", dst)
	}
	tc := &treeCopy{ctx: ctx, owners: s.owners, times: true, fileMode: -1, xattrs: true, warn: warn}
	if err := tc.copyTree(src, dst); err != nil {
		RemoveTree(dst)
		return err
	}
	return nil
}

// ApplyLayer applies layer, an overlay's upper directory, onto the tree
// dst, as overlayfs shows one on the other: a whiteout removes what it
// names, an opaque directory replaces the one below it, and every other
// entry replaces (a directory: merges into) what dst holds there. Modes,
// times, extended attributes and (for a caller that is root) ownership
// are kept; overlayfs's own marks are not copied.
func (s *Sandbox) ApplyLayer(ctx context.Context, layer, dst string, warn func(format string, args ...any)) error {
	tc := &treeCopy{ctx: ctx, owners: s.owners, times: true, fileMode: -1, xattrs: true, layer: true, warn: warn}
	return tc.applyLayer(layer, dst)
}

// CopyMeta gives the directory dst the mode, times, extended attributes
// and (for a caller that is root) owner of the directory src.
func (s *Sandbox) CopyMeta(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return err
	}
	sd, err := openDir(unix.AT_FDCWD, src, false)
	if err != nil {
		return err
	}
	defer sd.Close()
	dd, err := openDir(unix.AT_FDCWD, dst, false)
	if err != nil {
		return err
	}
	defer dd.Close()
	tc := &treeCopy{owners: s.owners, times: true, fileMode: -1, xattrs: true}
	if err := tc.setMeta(int(dd.Fd()), &st, false); err != nil {
		return err
	}
	if err := tc.copyXattrs(int(sd.Fd()), int(dd.Fd()), "/"); err != nil {
		return err
	}
	return tc.setTimes(unix.AT_FDCWD, dst, &st)
}
