//go:build unix

package emulators

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the emulator in a process group of its own, so
// stopping it reaches node even when a wrapper script started it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func signalGroup(cmd *exec.Cmd, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	syscall.Kill(-cmd.Process.Pid, sig)
}
