package bake

import (
	"context"
	"errors"
	"strings"
	"time"
)

// CleanupError says what an operation could not undo: the temporary
// resources it names may be left behind until `imgraph cleanup` removes
// them. A platform returns one (joined with why the operation ended)
// whenever a cleanup fails, so that nothing is left without a word.
type CleanupError struct {
	Errs []error
}

func (e *CleanupError) Error() string {
	var b strings.Builder
	b.WriteString("cleanup failed, temporary resources may be left behind (`imgraph cleanup` removes them later):")
	for _, err := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *CleanupError) Unwrap() []error { return e.Errs }

type hurryKey struct{}

// WithHurry gives ctx a hurry: a channel that closes when the user asks
// once more to stop while cleanups run. A cleanup still makes the calls
// that undo what it can at once, but stops waiting on anything (an
// instance's termination, a snapshot's release) and says what is left.
func WithHurry(ctx context.Context, hurry <-chan struct{}) context.Context {
	return context.WithValue(ctx, hurryKey{}, hurry)
}

// Hurry is ctx's hurry; nil (never closed) when it has none.
func Hurry(ctx context.Context) <-chan struct{} {
	h, _ := ctx.Value(hurryKey{}).(<-chan struct{})
	return h
}

// ErrHurried is what a wait returns when the user asked it to stop.
var ErrHurried = errors.New("stopped waiting: interrupted again")

// CleanupContext is the context cleanups run in once an operation ends:
// not cancelled with ctx (ending may be why it ends), bounded by timeout,
// and hurried by ctx's hurry only. ctx's own end is no hurry: it comes of
// the first Ctrl-C, which asks for cleanups, or of the build stopping
// because another image failed, neither of which should cut a cleanup
// short. cancel releases it.
func CleanupContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	return WithHurry(cctx, Hurry(ctx)), cancel
}

// Wait waits for d, and returns ctx's error when ctx ends first or
// ErrHurried when ctx's hurry closes.
func Wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-Hurry(ctx):
		return ErrHurried
	}
}
