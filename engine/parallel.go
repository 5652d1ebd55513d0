package engine

import (
	"context"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// forEach calls fn(i) for every i in [0, n) on a few workers, which take
// the next i in turn: cheaper than a goroutine per call when calls are
// many and small. It stops early when ctx ends or fn fails, and returns
// that error.
func forEach(ctx context.Context, n int, fn func(i int) error) error {
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for range min(2*runtime.GOMAXPROCS(0), n) {
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
