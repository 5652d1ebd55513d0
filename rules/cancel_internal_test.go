package rules

import (
	"context"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// A thread whose context ends while it runs stops at its next step.
func TestThreadStopsWithItsContext(t *testing.T) {
	l := &Loader{maxSteps: 1 << 62}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	th, stop := l.newThread(ctx, "", "IMAGES.star", nil, nil)
	defer stop()
	_, err := starlark.ExecFileOptions(fileOptions, th, "IMAGES.star", "while True:\n    pass\n", nil)
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err = %v, want the run cancelled", err)
	}
}
