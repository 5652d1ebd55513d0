package aws

import (
	"os"
	"testing"

	"github.com/imgraph/imgraph/bake/local"
)

func TestMain(m *testing.M) {
	// The simulator's instances run commands in the local platform's
	// sandbox: this test binary re-executed.
	local.MaybeRunSandbox()
	os.Exit(m.Run())
}
