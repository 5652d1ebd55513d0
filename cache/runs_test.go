//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cache

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
)

func TestRunAliveWhileHeld(t *testing.T) {
	l, err := OpenLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.RunAlive("r1") {
		t.Fatal("a run never held is alive")
	}
	release, err := l.HoldRun("r1")
	if err != nil {
		t.Fatal(err)
	}
	if !l.RunAlive("r1") {
		t.Error("a held run is not alive")
	}
	if _, err := l.HoldRun("r1"); err == nil {
		t.Error("a run was held twice")
	}
	release()
	if l.RunAlive("r1") {
		t.Error("a released run is alive")
	}
	if _, err := l.HoldRun("../x"); err == nil {
		t.Error("a run id naming another directory was accepted")
	}
}

// TestRunDiesWithItsProcess holds a run in a child process and kills it:
// the run is alive exactly while the process lives.
func TestRunDiesWithItsProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childKeyEnv+"=run:child-run")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "held\n" {
		t.Fatalf("child said %q", line)
	}
	l, _ := OpenLocal(dir, nil)
	if !l.RunAlive("child-run") {
		t.Fatal("the child's run is not alive")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if l.RunAlive("child-run") {
		t.Error("the run of a killed process is alive")
	}
}
