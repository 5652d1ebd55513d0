//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cache

import "context"

// Held is false where there is no flock(2): no build can hold a key here.
func (l *Local) Held(ctx context.Context, key string) (bool, error) {
	return false, CheckKey(key)
}
