package parallel

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestForEachCallsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		calls := make([]atomic.Int32, n)
		var running, most atomic.Int32
		err := ForEach(t.Context(), 3, n, func(i int) error {
			now := running.Add(1)
			defer running.Add(-1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			calls[i].Add(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Fatalf("n=%d: fn(%d) called %d times", n, i, c)
			}
		}
		if most.Load() > 3 {
			t.Errorf("n=%d: %d calls at once, want at most 3", n, most.Load())
		}
	}
}

func TestForEachStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var after atomic.Int32
	var failed atomic.Bool
	err := ForEach(t.Context(), 1, 100, func(i int) error {
		if failed.Load() {
			after.Add(1)
		}
		if i == 10 {
			failed.Store(true)
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || after.Load() != 0 {
		t.Errorf("err = %v, %d calls after the failure; want boom and none", err, after.Load())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := ForEach(ctx, 2, 10, func(int) error { t.Error("called after the context ended"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}
