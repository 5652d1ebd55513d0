//go:build !linux

package sandbox

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// Sandbox is how this machine isolates commands; sandboxes need Linux.
type Sandbox struct{}

// MaybeRun returns at once: sandboxes exist only on Linux.
func MaybeRun() {}

func unsupported() error {
	return fmt.Errorf("sandbox: isolating commands needs Linux (namespaces and chroot), not %s", runtime.GOOS)
}

// New fails: sandboxes need Linux.
func New(ctx context.Context, dir string) (*Sandbox, error) { return nil, unsupported() }

// NewUserNamespace fails: sandboxes need Linux.
func NewUserNamespace(ctx context.Context, dir string) (*Sandbox, error) { return nil, unsupported() }

// UserNamespace reports false: sandboxes need Linux.
func (s *Sandbox) UserNamespace() bool { return false }

// RootError is nil: sandboxes need Linux.
func (s *Sandbox) RootError() error { return nil }

// Run fails: sandboxes need Linux.
func (s *Sandbox) Run(ctx context.Context, step *Step, stdin io.Reader, stdout, stderr io.Writer) error {
	return unsupported()
}

// CopyTree fails: sandboxes need Linux.
func (s *Sandbox) CopyTree(ctx context.Context, src, dst string, warn func(format string, args ...any)) error {
	return unsupported()
}

// Overlays fails: sandboxes need Linux.
func (s *Sandbox) Overlays() error { return unsupported() }

// IsWhiteout reports false: overlays need Linux.
func IsWhiteout(path string) bool { return false }

// IsOpaque reports false: overlays need Linux.
func IsOpaque(path string) bool { return false }

// ApplyLayer fails: sandboxes need Linux.
func (s *Sandbox) ApplyLayer(ctx context.Context, layer, dst string, warn func(format string, args ...any)) error {
	return unsupported()
}

// CopyMeta fails: sandboxes need Linux.
func (s *Sandbox) CopyMeta(src, dst string) error { return unsupported() }
