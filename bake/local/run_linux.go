package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// waitDelay bounds how long a finished or killed sandbox may keep its
// output open: every process holding it dies with the sandbox's PID 1, so
// this is only a guard.
const waitDelay = 10 * time.Second

// exitError is a sandbox's command that failed.
type exitError struct {
	status int
	signal syscall.Signal // when the command was killed
}

func (e *exitError) Error() string {
	if e.signal != 0 {
		return fmt.Sprintf("was killed by signal %d (%v)", int(e.signal), e.signal)
	}
	return fmt.Sprintf("exited with status %d", e.status)
}

// setupError is a sandbox that failed before its command ran.
type setupError struct{ msg string }

func (e *setupError) Error() string { return e.msg }

// runSandbox runs step in a new sandbox, with the sandbox's and its
// command's output (stdout and stderr interleaved) going to out, and waits
// for it. When ctx is done the sandbox's PID 1 is killed, which kills every
// process of its PID namespace, and runSandbox returns ctx.Err() once they
// are gone.
func (b *Baker) runSandbox(ctx context.Context, step *sandboxStep, out io.Writer) error {
	return startSandbox(ctx, b.userns, step, sandboxIO{stdout: out, stderr: out})
}

// sandboxIO is what a sandbox's command reads and writes; a nil stdin
// reads nothing.
type sandboxIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// startSandbox runs step in a new sandbox (in a user namespace if userns)
// and waits for it, as runSandbox does.
func startSandbox(ctx context.Context, userns bool, step *sandboxStep, stdio sandboxIO) error {
	config, err := json.Marshal(step)
	if err != nil {
		return err
	}
	configR, configW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer configW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		configR.Close()
		return err
	}
	defer statusR.Close()

	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{"imgraph-sandbox"}
	cmd.Env = []string{sandboxEnv + "=1",
		// Only a race-enabled build (tests) reads it: do not sleep a
		// second before each sandbox exits.
		strings.TrimSpace("GORACE=" + os.Getenv("GORACE") + " atexit_sleep_ms=0")}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.stdin, stdio.stdout, stdio.stderr
	cmd.ExtraFiles = []*os.File{configR, statusW} // configFD, statusFD
	cmd.SysProcAttr = sysProcAttr(userns)
	cmd.WaitDelay = waitDelay
	err = cmd.Start()
	configR.Close()
	statusW.Close()
	if err != nil {
		return fmt.Errorf("starting a sandbox: %w", err)
	}
	// The step goes through a pipe, never a file: it holds the secrets.
	_, werr := configW.Write(config)
	configW.Close()
	// The status pipe closes unwritten when the command starts (it is
	// close-on-exec), or holds why the sandbox could not start it.
	msg, _ := io.ReadAll(statusR)
	err = cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(msg) > 0 {
		return &setupError{strings.TrimSpace(string(msg))}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		ws, ok := exit.Sys().(syscall.WaitStatus)
		if ok && ws.Signaled() {
			return &exitError{signal: ws.Signal()}
		}
		return &exitError{status: exit.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("sandbox: sending the step: %w", werr)
	}
	return nil
}

// sysProcAttr makes the sandbox PID 1 of new mount, PID, UTS and IPC
// namespaces, in a user namespace mapping root to the caller when needed.
// It dies with imgraph, and in its own process group so that a Ctrl-C at
// the terminal reaches imgraph alone, which then cancels the bake.
func sysProcAttr(userns bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true,
	}
	if userns {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	return attr
}
