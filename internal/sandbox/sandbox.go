// Package sandbox runs commands isolated in directory trees. A sandbox is
// this program re-executed (from /proc/self/exe) as PID 1 of fresh mount,
// PID, UTS and IPC namespaces, entered through a user namespace when the
// caller cannot make them as root, and chrooted into its tree with /proc
// and a minimal /dev mounted: nothing a command starts or mounts outlives
// it, and it sees no file of the host. The local platform bakes images in sandboxes; the
// EC2 simulator's instances run their commands in them.
//
// Sandboxes need Linux. MaybeRun must be the first call of main, and of
// TestMain in every package whose tests start a sandbox.
package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Step is what one sandbox does, in this order: mount its overlay, extract
// a tarball into the empty tree, place files, scrub paths, run a command.
type Step struct {
	Root string // the tree, an absolute path on the host
	// Overlay, when set, makes the tree an overlay mounted at Root (an
	// empty directory) in the sandbox's own mount namespace: what the step
	// writes lands in Overlay.Upper, and the mount goes with the sandbox,
	// however it ends.
	Overlay *Overlay
	// Mounts: mount /proc and a minimal /dev, for steps that run commands.
	Mounts bool
	// Owners: set the ownership a tarball records (only as real root:
	// in a user namespace other ids do not exist).
	Owners  bool
	Tarball string      // extract this root filesystem (.tar or .tar.gz) into the empty tree
	Place   []Placement // files to place, opened before the chroot
	// Scrub removes every path of the tree that starts with this prefix
	// (an absolute path such as "/tmp/app-"); "" removes nothing.
	Scrub string
	Argv  []string // exec'd last, with Env as its whole environment
	Env   []string
}

// Overlay is a tree made of read-only layers and a writable upper
// directory, as overlayfs stacks them.
type Overlay struct {
	Lower []string // layers, the top one first; at least one
	Upper string   // receives every change, whiteouts included
	Work  string   // overlayfs's own, empty, on Upper's file system
	// UserXattr: the overlay is mounted in a user namespace, where
	// overlayfs keeps its marks in user.overlay.* attributes (Run sets it).
	UserXattr bool
}

// Placement puts a host file or directory into the tree.
type Placement struct {
	Src  string // host path
	Dest string // absolute path in the tree
	// Mode sets the permission bits of the file (of every file, for a
	// directory); -1 keeps the source's.
	Mode int64
	// DirMode is the mode of parent directories Dest needs.
	DirMode uint32
	// IntoDir: when Dest is an existing directory and Src a file, the file
	// goes inside it, as cp does.
	IntoDir bool
}

// ExitError is a sandbox whose command failed.
type ExitError struct {
	Status int            // the command's exit status, when it exited
	Signal syscall.Signal // the signal that killed it, or 0
}

func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return fmt.Sprintf("was killed by signal %d (%v)", int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("exited with status %d", e.Status)
}

// Code is the exit status as a shell reports it: 128+n when signal n
// killed the command.
func (e *ExitError) Code() int {
	if e.Signal != 0 {
		return 128 + int(e.Signal)
	}
	return e.Status
}

// UnavailableError is a machine where no sandbox starts, neither with
// namespaces made as root nor through a user namespace.
type UnavailableError struct {
	AsRoot        error // why not as root; nil when not tried (the caller is not root)
	UserNamespace error // why not through a user namespace
}

func (e *UnavailableError) Error() string {
	return "sandbox: cannot isolate commands on this machine: " + e.Reasons() +
		"\n  hint: run as root, or allow unprivileged user namespaces (sysctl user.max_user_namespaces=15000)"
}

// Reasons says why each way failed: "as root: ...; through a user
// namespace: ...".
func (e *UnavailableError) Reasons() string {
	why := "through a user namespace: " + e.UserNamespace.Error()
	if e.AsRoot != nil {
		why = "as root: " + e.AsRoot.Error() + "; " + why
	}
	return why
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *UnavailableError) BadInput() bool { return true }

// RemoveTree removes a tree a sandbox wrote, even one holding directories
// whose mode denies writing (as a caller that is not root cannot otherwise).
func RemoveTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
