//go:build !linux

package local

import (
	"context"
	"runtime"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
)

func unsupported() error {
	return &BadInputError{
		Msg:  "the local platform needs Linux (namespaces and chroot), not " + runtime.GOOS,
		Hint: "bake in a Linux virtual machine or container, or use --platform aws",
	}
}

// New fails: the local platform needs Linux.
func New(store *cache.Local, opts Options) (*Baker, error) { return nil, unsupported() }

// Bake fails: the local platform needs Linux.
func (b *Baker) Bake(ctx context.Context, job *bake.Job) (string, error) { return "", unsupported() }

// Test fails: the local platform needs Linux.
func (b *Baker) Test(ctx context.Context, job *bake.TestJob) error { return unsupported() }

// Export fails: the local platform needs Linux.
func (b *Baker) Export(ctx context.Context, id string, format string, out string) error {
	return unsupported()
}
