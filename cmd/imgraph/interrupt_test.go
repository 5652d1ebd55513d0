package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// holdWorkspace has one image, //base:hold, whose script holds while the
// secret HOLD is "yes": it prints "holding", passes the gate "holding"
// and sleeps for a day, in a shell whose command line carries marker.
// Secrets are not part of the key, so HOLD=no bakes the same key at once.
func holdWorkspace(t *testing.T, g *gate, marker string) *testWorkspace {
	g.open("holding") // the gate only says the script is there
	return newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "hold", source = rootfs(path = "rootfs"), provision = [shell(script = "hold.sh", secret_env = ["HOLD"])])
`,
		"base/hold.sh": fmt.Sprintf(`if [ "$HOLD" = yes ]; then
	echo holding
	sh -c '%s; sleep 86400; echo woke' %s
fi
echo baked > /etc/baked
`, g.pass("holding"), marker),
	})
}

// waitHolding waits until p's bake of //base:hold is in its provisioner
// and the process carrying marker runs.
func waitHolding(t *testing.T, g *gate, p *process, marker string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	select {
	case <-g.arrival("holding"):
	case <-p.done:
		t.Fatalf("the build ended before its bake held: %v", p.wait(t))
	case <-ctx.Done():
		t.Fatalf("the bake never held:\n%s", p.stderr)
	}
	// The plain view printed the phase before the script started.
	if err := p.stderr.waitFor(ctx, "//base:hold: provision [0] shell\n"); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr)
	}
	// The shell carrying the marker is the one waiting for the gate's
	// answer: it runs now.
	if procs := markedProcesses(t, marker); len(procs) == 0 {
		t.Fatalf("no process carries %s while the bake holds", marker)
	}
}

// markedProcesses lists the processes whose command line holds marker.
func markedProcesses(t *testing.T, marker string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, p := range dirs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // gone since the glob
		}
		if strings.Contains(string(data), marker) {
			found = append(found, filepath.Base(filepath.Dir(p))+": "+strings.ReplaceAll(string(data), "\x00", " "))
		}
	}
	return found
}

// mountsUnder lists this process's view of the mounts under dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT ...
		if f := strings.Fields(sc.Text()); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			found = append(found, f[4])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return found
}

// Ctrl-C in the middle of a bake stops it and undoes it: no process, mount,
// temporary tree, image or record of it is left, and imgraph exits 130.
// The next build bakes the image.
func TestBuildInterrupted(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	marker := "imgraph-test-hold-" + randomHex(8)
	ws := holdWorkspace(t, g, marker)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	p := ws.start(t, []string{"HOLD=yes"}, "build", "--events", events)
	waitHolding(t, g, p, marker)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	if r.code != exitInterrupted {
		t.Fatalf("interrupted build: %v\nwant exit code %d", r, exitInterrupted)
	}
	if !strings.Contains(r.stderr, "\nimgraph: interrupted\n") {
		t.Errorf("stderr does not say the build was interrupted:\n%s", r.stderr)
	}
	if procs := markedProcesses(t, marker); len(procs) > 0 {
		t.Errorf("processes of the interrupted bake still run: %v", procs)
	}
	if mounts := mountsUnder(t, ws.cache); len(mounts) > 0 {
		t.Errorf("mounts left under the cache: %v", mounts)
	}
	if left := tmpTrees(t, ws.cache); len(left) > 0 {
		t.Errorf("temporary trees left behind: %v", left)
	}
	key := keyOf(t, readEvents(t, events), "//base:hold")
	if exists(filepath.Join(ws.cache, "images", key)) {
		t.Errorf("the interrupted bake left an image")
	}
	if recordKeys(t, ws.cache)[key] {
		t.Errorf("the interrupted bake left a cache record")
	}
	log, err := os.ReadFile(filepath.Join(ws.root, "imgraph-out", "logs", "base", "hold.log"))
	if err != nil || !strings.Contains(string(log), "holding\n") {
		t.Errorf("the log of the interrupted bake: %q, %v; want what the script printed", log, err)
	}

	r = ws.imgraph(t, map[string]string{"HOLD": "no"}, "build", "--output", "json")
	if r.code != exitOK {
		t.Fatalf("build after the interrupt: %v", r)
	}
	report := parseBuildJSON(t, r.stdout)
	if len(report.Targets) != 1 || report.Targets[0].Key != key || report.Targets[0].Action != "bake" {
		t.Fatalf("build after the interrupt did not bake key %s:\n%s", key, r.stdout)
	}
	if !exists(filepath.Join(ws.cache, "images", key, "etc", "baked")) || !recordKeys(t, ws.cache)[key] {
		t.Errorf("build after the interrupt: no image or record of %s", key)
	}
}

// A second Ctrl-C stops the cleanups' waits; a third exits at once,
// without waiting for the cleanup. The events go to a pipe the test
// fills, so the build blocks at its first event after the first Ctrl-C
// and can only end through the third.
func TestBuildThirdInterruptExitsAtOnce(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	marker := "imgraph-test-hold-" + randomHex(8)
	ws := holdWorkspace(t, g, marker)
	fifo := filepath.Join(t.TempDir(), "events")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(fifo, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	p := ws.start(t, []string{"HOLD=yes"}, "build", "--events", fifo)
	waitHolding(t, g, p, marker)
	fillPipe(t, fd)

	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// Two signals sent at once may arrive as one: wait for each to be
	// handled.
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	for _, said := range []string{"Ctrl-C again to stop waiting", "Ctrl-C again to exit now"} {
		if err := p.stderr.waitFor(ctx, said); err != nil {
			t.Fatalf("%v\n%s", err, p.stderr)
		}
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
	}
	r := p.wait(t)
	if r.code != exitInterrupted {
		t.Fatalf("build interrupted twice: %v\nwant exit code %d", r, exitInterrupted)
	}
	for _, line := range strings.Split(r.stderr, "\n") {
		if line == "imgraph: interrupted" {
			t.Errorf("the build finished its cleanup, which it could not have:\n%s", r.stderr)
		}
	}
}

// fillPipe writes to the pipe fd (non-blocking) until it holds no more.
func fillPipe(t *testing.T, fd int) {
	t.Helper()
	junk := make([]byte, 4096)
	for _, size := range []int{len(junk), 1} {
		for {
			_, err := syscall.Write(fd, junk[:size])
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
