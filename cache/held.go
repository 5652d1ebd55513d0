//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cache

import (
	"context"
	"fmt"
)

// Held reports whether a process (this one included) holds key's lock:
// a build baking the key. It takes the lock for a moment to see, so a
// build that asks for it just then waits that moment.
func (l *Local) Held(ctx context.Context, key string) (bool, error) {
	if err := CheckKey(key); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	unlock, ok, err := l.tryLock(key)
	if err != nil {
		return false, fmt.Errorf("cache: lock %s: %w", key, err)
	}
	if ok {
		unlock()
	}
	return !ok, nil
}
