//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Lock takes an exclusive flock(2) on locks/<key>.lock. The kernel drops it
// when the holder's file is closed, so a killed build never blocks others.
// The lock is per Lock call, not per process: two goroutines, or two Locals,
// wanting one key exclude each other too.
//
// flock cannot be interrupted, so a waiting Lock whose ctx ends returns at
// once and leaves a goroutine waiting on; when that goroutine gets the lock
// it lets it go. Lock files are never removed: a process removing one while
// another waits on it would let a third lock a new file beside them.
func (l *Local) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var waiting func()
	if l.lockWaiting != nil {
		waiting = func() { l.lockWaiting(key) }
	}
	unlock, err = lockFile(ctx, filepath.Join(l.dir, "locks", key+".lock"), waiting)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("cache: lock %s: %w", key, err)
	}
	return unlock, err
}

// LockFile takes an exclusive flock(2) on the file at path (made if need
// be), waiting until it has it or ctx ends, as Lock does for a key.
func LockFile(ctx context.Context, path string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return lockFile(ctx, path, nil)
}

// lockFile is LockFile; waiting, when set, is told that the lock is held
// by another before the wait begins.
func lockFile(ctx context.Context, path string, waiting func()) (unlock func(), err error) {
	// os.OpenFile sets O_CLOEXEC, so the lock is not inherited by the
	// provisioners and other processes a build starts.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	err = flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return release(f), nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, err
	}
	if waiting != nil {
		waiting()
	}
	// The channel is unbuffered so that exactly one side owns the outcome:
	// either lockFile receives it, or the goroutine sees ctx end and cleans up.
	locked := make(chan error)
	go func() {
		err := flock(fd, syscall.LOCK_EX)
		select {
		case locked <- err:
		case <-ctx.Done():
			f.Close() // releases the lock if it was taken
		}
	}()
	select {
	case err := <-locked:
		if err != nil {
			f.Close()
			return nil, err
		}
		return release(f), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// tryLock takes key's lock if no one holds it; tests use it to look at a
// lock without waiting.
func (l *Local) tryLock(key string) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(filepath.Join(l.dir, "locks", key+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	err = flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, err
	}
	return release(f), true, nil
}

// release returns the unlock function of a held lock; calling it again does
// nothing. Closing the file is what drops the lock.
func release(f *os.File) func() {
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }
}

// flock retries a wait interrupted by a signal.
func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if err != syscall.EINTR {
			return err
		}
	}
}
