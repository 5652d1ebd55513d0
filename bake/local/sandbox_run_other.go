//go:build !linux

package local

import (
	"context"
	"io"
)

// Sandbox runs commands in isolated copies of root filesystems; it needs
// Linux.
type Sandbox struct{}

// NewSandbox fails: sandboxes need Linux.
func NewSandbox() (*Sandbox, error) { return nil, unsupported() }

// Run fails: sandboxes need Linux.
func (s *Sandbox) Run(ctx context.Context, root string, argv []string, env []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	return -1, unsupported()
}

// CopyTree fails: sandboxes need Linux.
func (s *Sandbox) CopyTree(ctx context.Context, src, dst string) error { return unsupported() }

// RemoveTree fails: sandboxes need Linux.
func (s *Sandbox) RemoveTree(dir string) error { return unsupported() }
