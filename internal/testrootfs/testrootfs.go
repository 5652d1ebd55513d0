// Package testrootfs assembles, for tests, the smallest root filesystem
// commands run in: a static BusyBox and its applets, /etc/passwd, a
// private /root and a sticky /tmp. `make test` installs Debian's
// busybox-static.
package testrootfs

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// BusyBox is where the static BusyBox is.
const BusyBox = "/bin/busybox"

// Assemble makes the root filesystem at root.
func Assemble(root string) error {
	data, err := os.ReadFile(BusyBox)
	if err != nil {
		return fmt.Errorf("a static BusyBox at %s (Debian: apt-get install busybox-static): %w", BusyBox, err)
	}
	for _, d := range []string{"bin", "etc", "root", "tmp", "proc", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	for p, mode := range map[string]fs.FileMode{"tmp": 0o777 | fs.ModeSticky, "root": 0o700} {
		if err := os.Chmod(filepath.Join(root, p), mode); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(BusyBox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
}

// New assembles a root filesystem in a new directory the test removes,
// and fails the test if it cannot.
func New(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	At(t, root)
	return root
}

// At assembles a root filesystem at root, and fails the test if it cannot.
func At(t testing.TB, root string) {
	t.Helper()
	if err := Assemble(root); err != nil {
		t.Fatal(err)
	}
}

// Shared is a root filesystem assembled once for a whole test binary, for
// tests that only read it (the simulator's instances copy their image's).
// TestMain removes it once the tests have run.
type Shared struct {
	once sync.Once
	dir  string
	err  error
}

// Get assembles the root filesystem on first use and returns where it is.
func (s *Shared) Get(t testing.TB) string {
	t.Helper()
	s.once.Do(func() {
		if s.dir, s.err = os.MkdirTemp("", "imgraph-test-rootfs-"); s.err == nil {
			s.err = Assemble(filepath.Join(s.dir, "rootfs"))
		}
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	return filepath.Join(s.dir, "rootfs")
}

// Remove removes the root filesystem, if it was made.
func (s *Shared) Remove() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
