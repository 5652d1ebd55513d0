package sandbox_test

import (
	"os"
	"testing"

	"github.com/imgraph/imgraph/internal/sandbox"
)

func TestMain(m *testing.M) {
	// A sandbox is this test binary re-executed.
	sandbox.MaybeRun()
	os.Exit(m.Run())
}

func newSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	return sb
}
