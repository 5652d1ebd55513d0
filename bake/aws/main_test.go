package aws

import (
	"os"
	"testing"

	"github.com/imgraph/imgraph/internal/sandbox"
)

func TestMain(m *testing.M) {
	// The simulator's instances run commands in sandboxes: this test
	// binary re-executed.
	sandbox.MaybeRun()
	code := m.Run()
	baseRootfs.Remove()
	os.Exit(code)
}
