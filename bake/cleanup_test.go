package bake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
)

// A cleanup is hurried by the hurry alone (Ctrl-C again), never by its
// operation's context ending: that is the first Ctrl-C, which asked for
// the cleanup, or another image's failure stopping the build. Its context
// is not cancelled either: the calls that undo things still run.
func TestCleanupContext(t *testing.T) {
	t.Run("failure, then the build stops", func(t *testing.T) {
		ctx, cancel := context.WithCancel(bake.WithHurry(context.Background(), make(chan struct{})))
		cctx, done := bake.CleanupContext(ctx, time.Hour)
		defer done()
		cancel()
		if err := bake.Wait(cctx, time.Millisecond); err != nil {
			t.Fatalf("Wait = %v: hurried by the operation's context ending", err)
		}
		if cctx.Err() != nil {
			t.Errorf("the cleanup's context ended: %v", cctx.Err())
		}
	})
	t.Run("Ctrl-C, then Ctrl-C again", func(t *testing.T) {
		hurry := make(chan struct{})
		ctx, cancel := context.WithCancel(bake.WithHurry(context.Background(), hurry))
		cancel()
		cctx, done := bake.CleanupContext(ctx, time.Hour)
		defer done()
		if err := bake.Wait(cctx, time.Millisecond); err != nil {
			t.Fatalf("Wait = %v: hurried by the Ctrl-C that started the cleanup", err)
		}
		close(hurry)
		if err := bake.Wait(cctx, time.Hour); !errors.Is(err, bake.ErrHurried) {
			t.Fatalf("Wait = %v, want hurried by the second Ctrl-C", err)
		}
	})
	t.Run("failure, then Ctrl-C twice", func(t *testing.T) {
		hurry := make(chan struct{})
		ctx := bake.WithHurry(context.Background(), hurry)
		cctx, done := bake.CleanupContext(ctx, time.Hour)
		defer done()
		close(hurry)
		if err := bake.Wait(cctx, time.Hour); !errors.Is(err, bake.ErrHurried) {
			t.Fatalf("Wait = %v, want hurried", err)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		cctx, done := bake.CleanupContext(context.Background(), time.Millisecond)
		defer done()
		if err := bake.Wait(cctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v, want the bound", err)
		}
	})
}
