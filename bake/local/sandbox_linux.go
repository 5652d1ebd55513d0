package local

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// A sandbox is this executable re-run (from /proc/self/exe) as PID 1 of new
// namespaces. It knows itself by sandboxEnv and by being PID 1; it reads its
// step on fd 3 and reports a failure to set up (as opposed to the failure of
// the command it runs) on fd 4, which closes unwritten when the command
// starts.
const (
	sandboxEnv = "IMGRAPH_SANDBOX"
	configFD   = 3
	statusFD   = 4

	// Everything a bake puts into an image for its own use lives under
	// tmpPrefix, and is removed before the image is captured.
	tmpPrefix    = "/tmp/imgraph-"
	artifactsDir = "/tmp/imgraph-artifacts"

	hostname = "imgraph"
	stepPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// sandboxStep is what one run of a sandbox does, in this order: extract a
// tarball, place files, scrub imgraph's own files, run a command.
type sandboxStep struct {
	Root string // the image tree, an absolute path on the host
	// Mounts: mount /proc and a minimal /dev, for steps that run commands.
	Mounts bool
	// Owners: set the ownership a tarball records (only as real root:
	// in a user namespace other ids do not exist).
	Owners  bool
	Tarball string      // extract this root filesystem into the empty tree
	Place   []placement // files to place, opened before the chroot
	Scrub   bool        // remove every /tmp/imgraph-* path
	Argv    []string    // exec'd last, with Env as its whole environment
	Env     []string
}

// placement puts a host file or directory into the image.
type placement struct {
	Src  string // host path
	Dest string // absolute path in the image
	// Mode sets the permission bits of the file (of every file, for a
	// directory); -1 keeps the source's.
	Mode int64
	// DirMode is the mode of parent directories Dest needs.
	DirMode uint32
	// IntoDir: when Dest is an existing directory and Src a file, the file
	// goes inside it, as cp does.
	IntoDir bool
}

// sandboxReady records that MaybeRunSandbox ran in this process: without
// it, re-executing ourselves would start the whole program (or test
// binary) again instead of a sandbox.
var sandboxReady atomic.Bool

// MaybeRunSandbox runs the sandbox side of the local platform when this
// process was re-executed as one, and then exits; otherwise it returns at
// once. main() of cmd/imgraph and TestMain of every package that bakes for
// real must call it before anything else.
func MaybeRunSandbox() {
	if _, set := os.LookupEnv(sandboxEnv); !set {
		sandboxReady.Store(true)
		return
	}
	if os.Getpid() != 1 {
		// Not in a PID namespace of ours: running the program instead
		// would start it again from every bake's sandbox.
		fmt.Fprintf(os.Stderr, "imgraph: %s is set, but this process is not a sandbox of the local platform; unset it\n", sandboxEnv)
		os.Exit(2)
	}
	os.Exit(sandboxMain())
}

func sandboxMain() int {
	// Descriptors imgraph inherited without close-on-exec (a make
	// jobserver's, a harness's) would reach the command; one of a host
	// directory would even lead out of the chroot. Only 0, 1 and 2 pass.
	if err := closeOnExecFrom(configFD); err != nil {
		fmt.Fprintf(os.Stderr, "imgraph: sandbox: %v\n", err)
		return 1
	}
	status := os.NewFile(statusFD, "status")
	fail := func(err error) int {
		fmt.Fprint(status, err.Error())
		return 1
	}
	config := os.NewFile(configFD, "config")
	var step sandboxStep
	err := json.NewDecoder(config).Decode(&step)
	config.Close()
	if err != nil {
		return fail(fmt.Errorf("reading the step: %w", err))
	}
	if err := runStep(&step); err != nil {
		return fail(err)
	}
	return 0
}

// closeOnExecFrom marks every descriptor from first up close-on-exec.
func closeOnExecFrom(first int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	// Before Linux 5.11: one by one, from the host's /proc (the chroot
	// has not happened yet).
	entries, rerr := os.ReadDir("/proc/self/fd")
	if rerr != nil {
		return fmt.Errorf("close_range: %v; listing descriptors: %w", err, rerr)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= first {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// runStep sets the sandbox up around step.Root, does the step's work inside
// the chroot, and execs its command, if it has one.
func runStep(step *sandboxStep) error {
	unix.Umask(0o022)
	// Nothing mounted here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if step.Mounts {
		if err := mountSystem(step.Root); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("setting the hostname: %w", err)
	}

	// Open every host file before the chroot: after it, only the image is
	// reachable by path, so every write below lands inside the image
	// whatever symlinks it holds.
	var tarball *os.File
	if step.Tarball != "" {
		f, err := os.Open(step.Tarball)
		if err != nil {
			return err
		}
		defer f.Close()
		tarball = f
	}
	srcs := make([]*os.File, len(step.Place))
	for i, p := range step.Place {
		f, err := os.Open(p.Src)
		if err != nil {
			return err
		}
		defer f.Close()
		srcs[i] = f
	}

	if err := unix.Chroot(step.Root); err != nil {
		return fmt.Errorf("chroot %s: %w", step.Root, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}

	if tarball != nil {
		if err := extractTarball(tarball, step.Tarball, step.Owners); err != nil {
			return err
		}
	}
	for i, p := range step.Place {
		if err := place(srcs[i], p); err != nil {
			return err
		}
		srcs[i].Close()
	}
	if step.Scrub {
		if err := scrub(); err != nil {
			return err
		}
	}
	if len(step.Argv) == 0 {
		return nil
	}
	err := syscall.Exec(step.Argv[0], step.Argv, step.Env)
	return fmt.Errorf("running %s in the image: %w", step.Argv[0], err)
}
