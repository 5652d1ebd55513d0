//go:build !unix

package emulators

import "os/exec"

func setProcessGroup(cmd *exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, kill bool) { cmd.Process.Kill() }
