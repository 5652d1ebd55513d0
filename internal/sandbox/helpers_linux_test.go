package sandbox_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/internal/sandbox"
)

func TestMain(m *testing.M) {
	// A sandbox is this test binary re-executed.
	sandbox.MaybeRun()
	os.Exit(m.Run())
}

// busyboxRootfs assembles the smallest root filesystem commands can run
// in: a static BusyBox, its applets and a sticky /tmp.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	const busybox = "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		t.Skipf("the sandbox's tests need a static BusyBox at %s (Debian: apt-get install busybox-static; `make test` installs it): %v", busybox, err)
	}
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "root", "tmp", "proc", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func newSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	return sb
}
