//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cache

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"testing"
)

type lockResult struct {
	unlock func()
	err    error
}

// lockAsync starts l.Lock in a goroutine. The first channel is closed once
// Lock has found the key held and waits; the second gets Lock's result.
func lockAsync(ctx context.Context, l *Local, key string) (waiting <-chan struct{}, result <-chan lockResult) {
	w := make(chan struct{})
	r := make(chan lockResult, 1)
	l.lockWaiting = func(string) { close(w) }
	go func() {
		unlock, err := l.Lock(ctx, key)
		r <- lockResult{unlock, err}
	}()
	return w, r
}

func TestLockExcludesSecondHolder(t *testing.T) {
	dir := t.TempDir()
	key := testKey(1)
	for _, tc := range []struct {
		name   string
		second func(t *testing.T, first *Local) *Local
	}{
		{"same Local", func(_ *testing.T, first *Local) *Local { return first }},
		{"another Local", func(t *testing.T, _ *Local) *Local { l, _ := openTest(t, dir); return l }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, _ := openTest(t, dir)
			second := tc.second(t, first)
			unlock, err := first.Lock(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			// Another key is not held.
			other, err := second.Lock(t.Context(), testKey(2))
			if err != nil {
				t.Fatal(err)
			}
			other()

			waiting, result := lockAsync(t.Context(), second, key)
			<-waiting
			select {
			case r := <-result:
				t.Fatalf("second Lock returned while the first holds the lock: %v", r.err)
			default:
			}
			unlock()
			unlock() // a second unlock does nothing
			r := <-result
			if r.err != nil {
				t.Fatal(r.err)
			}
			if _, ok, _ := first.tryLock(key); ok {
				t.Error("tryLock took a lock the second Lock holds")
			}
			r.unlock()
			again, ok, err := first.tryLock(key)
			if !ok || err != nil {
				t.Fatalf("after both unlocks, tryLock = %v, %v", ok, err)
			}
			again()
		})
	}
}

func TestLockContextEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		held bool // someone else holds the lock
	}{
		{"cancelled before, lock free", false},
		{"cancelled before, lock held", true},
		{"cancelled while waiting", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key := testKey(1)
			holder, _ := openTest(t, dir)
			waiter, _ := openTest(t, dir)
			unlock := func() {}
			if tc.held {
				var err error
				if unlock, err = holder.Lock(t.Context(), key); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			if tc.name == "cancelled while waiting" {
				waiter.lockWaiting = func(string) { cancel() }
			} else {
				cancel()
			}
			got, err := waiter.Lock(ctx, key)
			if err != context.Canceled {
				t.Errorf("Lock: err = %v, want context.Canceled", err)
			}
			if got != nil {
				t.Error("Lock returned an unlock function with its error")
			}
			unlock()
			// Whatever a cancelled Lock left waiting lets the lock go.
			waiter.lockWaiting = nil
			again, err := holder.Lock(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			again()
		})
	}
}

// TestLockAcrossProcesses holds the lock in a second process (this test
// binary, re-run by TestMain) and ends that process two ways.
func TestLockAcrossProcesses(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(cmd *exec.Cmd, stdin io.Closer) error
	}{
		{"child unlocks and exits", func(cmd *exec.Cmd, stdin io.Closer) error {
			stdin.Close()
			return cmd.Wait()
		}},
		{"child is killed", func(cmd *exec.Cmd, _ io.Closer) error {
			if err := cmd.Process.Kill(); err != nil {
				return err
			}
			if err := cmd.Wait(); err == nil {
				t.Error("killed child exited cleanly")
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key := testKey(1)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childKeyEnv+"="+key)
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if line != "locked\n" {
				t.Fatalf("child said %q, %v; want \"locked\"", line, err)
			}

			l, _ := openTest(t, dir)
			if unlock, ok, err := l.tryLock(key); ok || err != nil {
				unlock()
				t.Fatalf("tryLock while the child holds the lock = %v, %v; want false, nil", ok, err)
			}
			waiting, result := lockAsync(t.Context(), l, key)
			<-waiting
			if err := tc.end(cmd, stdin); err != nil {
				t.Fatal(err)
			}
			r := <-result
			if r.err != nil {
				t.Fatal(r.err)
			}
			r.unlock()
		})
	}
}
