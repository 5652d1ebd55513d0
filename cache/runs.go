//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
)

// runIDRE is what a run id may look like: it names a file.
var runIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// HoldRun marks run as alive on this machine for as long as the returned
// release is not called and the process lives: it holds an flock on
// runs/<run>.lock, which the kernel drops when the process dies. `imgraph
// cleanup` asks RunAlive before it removes what a run left.
func (l *Local) HoldRun(run string) (release func(), err error) {
	if !runIDRE.MatchString(run) {
		return nil, fmt.Errorf("cache: invalid run id %q", run)
	}
	dir := filepath.Join(l.dir, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, run+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("cache: run %s is already held: %w", run, err)
	}
	return func() {
		os.Remove(f.Name())
		f.Close()
	}, nil
}

// RunAlive reports whether a process on this machine still holds run. A
// run of another machine is never alive here: cleanup then goes by age.
func (l *Local) RunAlive(run string) bool {
	if !runIDRE.MatchString(run) {
		return false
	}
	f, err := os.Open(filepath.Join(l.dir, "runs", run+".lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	err = flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		// No one holds it: a run that died. Its file is litter.
		os.Remove(f.Name())
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
