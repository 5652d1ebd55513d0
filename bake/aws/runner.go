package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imgraph/imgraph/bake"
)

// step is one stage of an operation (a bake, a copy) whose steps share a
// state S. Run makes what the step makes; Cleanup undoes whatever Run
// made that must not outlive the operation, and is called for every step
// whose Run was called, even one that failed or was cancelled halfway, so
// it must cope with a partial Run.
type step[S any] interface {
	// Name names the step in errors: "launch", "create image"; "" names
	// none, for a step whose operation's own errors say what it does.
	Name() string
	Run(ctx context.Context, s S) error
	// Cleanup runs with its own context, never the operation's, which
	// may be why the operation is ending.
	Cleanup(ctx context.Context, s S) error
}

// stepError is a step that failed, named for the user.
type stepError struct {
	Step string
	Err  error
}

func (e *stepError) Error() string {
	msg := e.Err.Error()
	// A provisioner's error already starts with its own name.
	if e.Step == "" || strings.HasPrefix(msg, e.Step+" ") || strings.HasPrefix(msg, e.Step+":") {
		return msg
	}
	return e.Step + ": " + msg
}

func (e *stepError) Unwrap() error { return e.Err }

// runner runs steps in order and, on every path out, the cleanups of those
// that ran in reverse order.
type runner[S any] struct {
	steps []step[S]
	// cleanupTimeout bounds each cleanup (0: cleanupTimeout), so that one
	// stuck cleanup cannot use up the time of the others.
	cleanupTimeout time.Duration
	// cleaning is called once before the cleanups start.
	cleaning func()
	// failed, when set, is called with a step's error before the
	// cleanups start.
	failed func(err error)
}

// run returns the first step's error, and a *bake.CleanupError when
// cleanups failed; the caller reports both, never hiding the first behind
// the second. Each cleanup runs in its own bake.CleanupContext: not
// cancelled with ctx, bounded, and hurried by the second Ctrl-C.
func (r *runner[S]) run(ctx context.Context, s S) (err error, cleanupErr error) {
	var ran []step[S]
	defer func() {
		if len(ran) == 0 {
			return
		}
		if err != nil && r.failed != nil {
			r.failed(err)
		}
		if r.cleaning != nil {
			r.cleaning()
		}
		timeout := cmp.Or(r.cleanupTimeout, cleanupTimeout)
		var failed []error
		for i := len(ran) - 1; i >= 0; i-- {
			cctx, cancel := bake.CleanupContext(ctx, timeout)
			cerr := ran[i].Cleanup(cctx, s)
			cancel()
			if cerr != nil {
				if name := ran[i].Name(); name != "" {
					cerr = fmt.Errorf("%s: %w", name, cerr)
				}
				failed = append(failed, cerr)
			}
		}
		if len(failed) > 0 {
			cleanupErr = &bake.CleanupError{Errs: failed}
		}
	}()
	for _, st := range r.steps {
		if err := ctx.Err(); err != nil {
			return &stepError{Step: st.Name(), Err: err}, nil
		}
		// Before Run: a step that fails halfway may have made something.
		ran = append(ran, st)
		if err := st.Run(ctx, s); err != nil {
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				// Cancelled: say so, not only what the cancellation broke.
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			return &stepError{Step: st.Name(), Err: err}, nil
		}
	}
	return nil, nil
}
