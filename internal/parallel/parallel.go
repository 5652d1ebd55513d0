// Package parallel runs many small calls on a few workers.
package parallel

import (
	"context"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// ForEach calls fn(i) for every i in [0, n) on at most workers goroutines,
// which take the next i in turn: cheaper than a goroutine per call when
// calls are many and small (each new goroutine grows its own stack). It
// stops early when ctx ends or fn fails, and returns that error.
func ForEach(ctx context.Context, workers, n int, fn func(i int) error) error {
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for range min(max(workers, 1), n) {
		g.Go(func() error {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := fn(i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// CPU is enough workers for work bound by the processors.
func CPU() int { return 2 * runtime.GOMAXPROCS(0) }
