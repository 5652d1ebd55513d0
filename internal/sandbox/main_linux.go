package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// A sandbox knows itself by sandboxEnv and by being PID 1; it reads its
// step on fd 3 and reports a failure to set up (as opposed to the failure
// of the command it runs) on fd 4, which closes unwritten when the command
// starts.
const (
	sandboxEnv = "IMGRAPH_SANDBOX"
	configFD   = 3
	statusFD   = 4

	hostname = "imgraph" // every sandbox's, in its own UTS namespace
)

// ready records that MaybeRun ran in this process: without it,
// re-executing ourselves would start the whole program (or test binary)
// again instead of a sandbox.
var ready atomic.Bool

// MaybeRun runs the sandbox when this process was re-executed as one, and
// then exits; otherwise it returns at once. main() of every program that
// starts sandboxes, and TestMain of every package whose tests do, must call
// it before anything else.
func MaybeRun() {
	if _, set := os.LookupEnv(sandboxEnv); !set {
		ready.Store(true)
		return
	}
	if os.Getpid() != 1 {
		// Not in a PID namespace of ours: running the program instead
		// would start it again from every sandbox.
		fmt.Fprintf(os.Stderr, "imgraph: %s is set, but this process is not an imgraph sandbox; unset it\n", sandboxEnv)
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
	var step Step
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
func runStep(step *Step) error {
	unix.Umask(0o022)
	// Nothing mounted here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if step.Overlay != nil {
		if err := mountOverlay(step.Root, step.Overlay); err != nil {
			return err
		}
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
	if step.Scrub != "" {
		if err := scrub(step.Scrub); err != nil {
			return err
		}
	}
	if len(step.Argv) == 0 {
		return nil
	}
	err := syscall.Exec(step.Argv[0], step.Argv, step.Env)
	return fmt.Errorf("running %s in the image: %w", step.Argv[0], err)
}
