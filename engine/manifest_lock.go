package engine

import (
	"context"
	"errors"
	"time"

	"github.com/imgraph/imgraph/cache"
)

// manifestLockWait bounds the wait for another build's manifest write,
// which takes milliseconds: past it, the manifest is written unlocked.
const manifestLockWait = 10 * time.Second

// lockManifest takes the lock file at path for a read-merge-write of the
// manifest, and returns its release. It never waits longer than
// manifestLockWait: a holder stopped (SIGSTOP) must not stop this build.
// Where there are no file locks, builds into one output directory at once
// may lose each other's entries.
func lockManifest(path string, warn func(format string, args ...any)) (unlock func()) {
	ctx, cancel := context.WithTimeout(context.Background(), manifestLockWait)
	defer cancel()
	unlock, err := cache.LockFile(ctx, path)
	switch {
	case err == nil:
		return unlock
	case !errors.Is(err, errors.ErrUnsupported):
		warn("writing the manifest without its lock (%v): a build writing it at the same time may lose an entry", err)
	}
	return func() {}
}
