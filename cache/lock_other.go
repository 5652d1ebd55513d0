//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Lock is not implemented where there is no flock(2).
func (l *Local) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("cache: locks are not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// LockFile is not implemented where there is no flock(2).
func LockFile(ctx context.Context, path string) (unlock func(), err error) {
	return nil, fmt.Errorf("cache: locks are not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
