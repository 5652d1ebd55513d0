//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package engine

import (
	"os"
	"syscall"
	"time"
)

// manifestLockWait bounds the wait for another build's manifest write,
// which takes milliseconds: past it, the manifest is written unlocked.
const manifestLockWait = 10 * time.Second

// lockManifest takes an flock(2) on path for a read-merge-write of the
// manifest, and returns its release. It never waits longer than
// manifestLockWait: a holder stopped (SIGSTOP) must not stop this build.
func lockManifest(path string, warn func(format string, args ...any)) (unlock func()) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return func() {}
	}
	deadline := time.Now().Add(manifestLockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() } // closing drops the lock
		}
		if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
			warn("writing the manifest without its lock (%v): a build writing it at the same time may lose an entry", err)
			f.Close()
			return func() {}
		}
		time.Sleep(10 * time.Millisecond)
	}
}
