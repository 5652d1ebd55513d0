package sandbox

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

// setupError is a sandbox that failed before its command ran.
type setupError struct{ msg string }

func (e *setupError) Error() string { return e.msg }

// waitDelay bounds how long a finished or killed sandbox may keep its
// output open: every process holding it dies with the sandbox's PID 1, so
// this is only a guard.
const waitDelay = 10 * time.Second

// Run runs step in a new sandbox and waits for it. The command reads stdin
// (nil: nothing) and writes stdout and stderr (nil: discarded), where the
// sandbox also says what it skipped or why it could not start the command.
// A command that fails is an *ExitError. When ctx is done the sandbox's
// PID 1 is killed, which kills every process of its PID namespace, and Run
// returns ctx.Err() once they are gone.
func (s *Sandbox) Run(ctx context.Context, step *Step, stdin io.Reader, stdout, stderr io.Writer) error {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	var input *os.File
	if stdin != nil {
		// Through a pipe of our own: the command may exit without reading
		// its input, and an exec.Cmd would then wait for a reader (an SSH
		// channel, say) that never ends.
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer w.Close()
		go func() {
			io.Copy(w, stdin)
			w.Close()
		}()
		defer r.Close()
		input = r
	}
	if step.Overlay != nil {
		st, ov := *step, *step.Overlay
		ov.UserXattr = s.userns
		st.Overlay = &ov
		step = &st
	}
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
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if input != nil {
		cmd.Stdin = input
	}
	cmd.ExtraFiles = []*os.File{configR, statusW} // configFD, statusFD
	cmd.SysProcAttr = sysProcAttr(s.userns)
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
			return &ExitError{Signal: ws.Signal()}
		}
		return &ExitError{Status: exit.ExitCode()}
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
// It dies with its caller, and is in its own process group so that a
// Ctrl-C at the terminal reaches the caller alone, which then cancels it.
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
