package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Sandbox runs commands in isolated copies of root filesystems, with the
// local platform's isolation (the EC2 simulator's instances use it). Each
// command is PID 1's child in fresh mount, PID, UTS and IPC namespaces,
// chrooted into its tree with /proc and a minimal /dev mounted, so nothing
// it starts outlives it. It is safe for concurrent use.
type Sandbox struct {
	userns bool // through a user namespace mapping root to the caller
	owners bool // CopyTree keeps file ownership (the caller is real root)
}

// NewSandbox starts a sandbox around an empty tree to see how this machine
// isolates commands: as root with the namespaces made directly, otherwise
// (or if that fails) through a user namespace. MaybeRunSandbox must have
// run first in main (or TestMain).
func NewSandbox() (*Sandbox, error) {
	if !sandboxReady.Load() {
		return nil, errors.New("local: MaybeRunSandbox must run first in main (and in TestMain of tests that use a Sandbox): " +
			"the sandbox is this program re-executed")
	}
	root := os.Geteuid() == 0
	s := &Sandbox{owners: root}
	var failures []string
	if root {
		err := s.probe()
		if err == nil {
			return s, nil
		}
		failures = append(failures, "as root: "+err.Error())
	}
	s.userns = true
	if err := s.probe(); err != nil {
		failures = append(failures, "through a user namespace: "+err.Error())
		return nil, &BadInputError{
			Msg:  "cannot isolate commands on this machine: " + strings.Join(failures, "; "),
			Hint: "run as root, or allow unprivileged user namespaces (sysctl user.max_user_namespaces=15000)",
		}
	}
	return s, nil
}

func (s *Sandbox) probe() error {
	dir, err := os.MkdirTemp("", "imgraph-sandbox-probe-")
	if err != nil {
		return err
	}
	defer removeTree(dir)
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var out bytes.Buffer
	err = startSandbox(ctx, s.userns, &sandboxStep{Root: dir, Mounts: true}, sandboxIO{stdout: &out, stderr: &out})
	if err != nil && out.Len() > 0 {
		err = fmt.Errorf("%w (%s)", err, strings.TrimSpace(out.String()))
	}
	return err
}

// Run runs argv (argv[0] an absolute path in the tree) chrooted into root,
// with env as its whole environment, reading stdin (nil: nothing) and
// writing stdout and stderr apart, and returns its exit status: 128+n when
// signal n killed it, as a shell reports it. err is set, and the status
// -1, when the command could not start, or when ctx was done (the command
// and everything it started are then killed).
func (s *Sandbox) Run(ctx context.Context, root string, argv []string, env []string, stdin io.Reader, stdout, stderr io.Writer) (exitStatus int, err error) {
	if len(argv) == 0 {
		return -1, errors.New("local: sandbox: no command")
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	stdio := sandboxIO{stdout: stdout, stderr: stderr}
	if stdin != nil {
		// Through a pipe of our own: the command may exit without reading
		// its input, and an exec.Cmd would then wait for a reader (an SSH
		// channel, say) that never ends.
		r, w, err := os.Pipe()
		if err != nil {
			return -1, err
		}
		defer w.Close()
		go func() {
			io.Copy(w, stdin)
			w.Close()
		}()
		defer r.Close()
		stdio.stdin = r
	}
	step := &sandboxStep{Root: root, Mounts: true, Argv: argv, Env: env}
	err = startSandbox(ctx, s.userns, step, stdio)
	var exit *exitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if exit.signal != 0 {
			return 128 + int(exit.signal), nil
		}
		return exit.status, nil
	}
	return -1, err
}

// CopyTree copies the directory tree src to dst, which must not exist:
// symlinks are recreated, never followed; modes, times and (for root)
// ownership are kept.
func (s *Sandbox) CopyTree(ctx context.Context, src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("local: copying to %s: it exists", dst)
	}
	tc := &treeCopy{ctx: ctx, owners: s.owners, times: true, fileMode: -1}
	if err := tc.copyTree(src, dst); err != nil {
		removeTree(dst)
		return err
	}
	return nil
}

// RemoveTree removes a tree a sandbox's commands wrote, even one holding
// directories whose mode denies writing.
func (s *Sandbox) RemoveTree(dir string) error { return removeTree(dir) }
