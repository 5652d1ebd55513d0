package engine

import (
	"context"
	"errors"
)

// Exit codes, as the README promises them: the CLI ends with these, and a
// build's build_finish event says which.
const (
	ExitOK          = 0
	ExitBakeFailed  = 1
	ExitBadInput    = 2
	ExitInterrupted = 130
)

// ExitCode is what err makes imgraph exit with: 0 for none, 130 for a
// cancel (Ctrl-C), 2 for an error the user can fix (one that says
// BadInput()), and 1 for anything else, a failed bake first.
func ExitCode(err error) int {
	var bad interface{ BadInput() bool }
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &bad) && bad.BadInput():
		return ExitBadInput
	}
	return ExitBakeFailed
}
