package remote

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// bound is how long any one event of these tests may take to come; they
// wait on the event, and fail rather than hang if it never comes.
const bound = 20 * time.Second

// A second run wanting a key that another run is baking waits for that
// bake, and then finds its record.
func TestLockWaitsForHolder(t *testing.T) {
	loc := newCache(t, "&lease=5s")
	a, _ := openTest(t, loc, "run-a")
	b, _ := openTest(t, loc, "run-b")
	ctx := t.Context()
	key := testKey(1)

	unlockA, err := a.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	it := item(t, a, key)
	if it["status"] != "baking" || it["owner"] != "run-a" || it["expires"].(int64) <= time.Now().UnixMilli() {
		t.Errorf("item while a holds the lease = %v", it)
	}

	result, waiting := lockAsync(ctx, b, key)
	within(t, waiting, bound, "b's Lock finding the key leased")
	select {
	case r := <-result:
		t.Fatalf("b's Lock returned (err %v) while a holds the lease", r.err)
	default:
	}

	rec := testRecord(key, "//apps:api")
	if err := a.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	unlockA()
	r := within(t, result, bound, "b's Lock once a's bake is recorded")
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.unlock()
	got, err := b.Get(ctx, []string{key})
	if err != nil || !reflect.DeepEqual(got[key], rec.Summary()) {
		t.Errorf("b's Get after the wait = %+v, %v; want a's record", got, err)
	}
	r.unlock()
	if it := item(t, b, key); it["status"] != "done" || it["owner"] != "run-1" {
		t.Errorf("item after b's unlock = %v, want a's done record", it)
	}
}

// A run killed mid-bake stops renewing its lease; another run takes the
// key over once the lease expires.
func TestLockTakesOverExpiredLease(t *testing.T) {
	loc := newCache(t, "&lease=1s")
	a, _ := openTest(t, loc, "run-a")
	b, _ := openTest(t, loc, "run-b")
	ctx := t.Context()
	key := testKey(1)

	if _, err := a.Lock(ctx, key); err != nil {
		t.Fatal(err)
	}
	a.abandon(key) // kill -9: no more renewals, and no release
	expires := time.UnixMilli(item(t, a, key)["expires"].(int64))

	result, waiting := lockAsync(ctx, b, key)
	within(t, waiting, bound, "b's Lock finding the key leased")
	r := within(t, result, bound, "b's Lock taking over the expired lease")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.at.Before(expires) {
		t.Errorf("b took the lease over at %v, before it expired at %v", r.at, expires)
	}
	if it := item(t, b, key); it["status"] != "baking" || it["owner"] != "run-b" {
		t.Errorf("item after the takeover = %v, want leased to run-b", it)
	}
	r.unlock()
	if it := item(t, b, key); it != nil {
		t.Errorf("item after b's unlock without a Put = %v, want none", it)
	}
}

// While the holder renews, its lease outlives the lease period, and a
// failed bake's unlock hands the key to the waiting run at once.
func TestLockRenewsAndReleases(t *testing.T) {
	loc := newCache(t, "&lease=1s")
	a, _ := openTest(t, loc, "run-a")
	b, _ := openTest(t, loc, "run-b")
	ctx := t.Context()
	key := testKey(1)
	renewed := make(chan struct{}, 16)
	a.leaseRenewed = func(string) { renewed <- struct{}{} }

	unlockA, err := a.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	first := item(t, a, key)["expires"].(int64)
	result, waiting := lockAsync(ctx, b, key)
	within(t, waiting, bound, "b's Lock finding the key leased")
	for range 4 { // 4 renewals, a third of the lease apart: past the first expiry
		within(t, renewed, bound, "a renewing its lease")
	}
	select {
	case r := <-result:
		t.Fatalf("b's Lock returned (err %v) while a renews its lease", r.err)
	default:
	}
	if now := item(t, a, key)["expires"].(int64); now <= first+500 {
		t.Errorf("lease expiry went from %d to %d after 4 renewals", first, now)
	}

	failed := time.Now()
	unlockA() // the bake failed: no Put
	r := within(t, result, bound, "b's Lock after a's failed bake")
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.unlock()
	// At once: within a poll of the item, not after the lease ran out.
	if d := r.at.Sub(failed); d > b.pollInterval()+500*time.Millisecond {
		t.Errorf("b took the key %v after a released it; want within a poll (%v)", d, b.pollInterval())
	}
	if it := item(t, b, key); it["owner"] != "run-b" {
		t.Errorf("item = %v, want leased to run-b", it)
	}
}

func TestUnlockWithoutPutReleases(t *testing.T) {
	loc := newCache(t, "")
	a, _ := openTest(t, loc, "run-a")
	b, _ := openTest(t, loc, "run-b")
	ctx := t.Context()
	key := testKey(1)
	unlock, err := a.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	unlock() // a second call does nothing
	if it := item(t, a, key); it != nil {
		t.Errorf("item after a failed bake's unlock = %v, want none", it)
	}
	b.lockWaiting = func(string) { t.Error("b waited for a released lease") }
	unlockB, err := b.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlockB()
	if it := item(t, b, key); it["owner"] != "run-b" {
		t.Errorf("item = %v, want leased to run-b", it)
	}
}

func TestLockWaitEndsWithContext(t *testing.T) {
	loc := newCache(t, "")
	a, _ := openTest(t, loc, "run-a")
	b, _ := openTest(t, loc, "run-b")
	key := testKey(1)
	unlock, err := a.Lock(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(t.Context())
	result, waiting := lockAsync(ctx, b, key)
	within(t, waiting, bound, "b's Lock finding the key leased")
	cancel()
	if r := within(t, result, bound, "b's Lock after its context ended"); !errors.Is(r.err, context.Canceled) {
		t.Errorf("b's Lock: err = %v, want context.Canceled", r.err)
	}
	if it := item(t, a, key); it["owner"] != "run-a" {
		t.Errorf("item = %v, want still leased to run-a", it)
	}
}

// Goroutines of one run share its id, so they take turns in the process.
func TestLockInProcess(t *testing.T) {
	loc := newCache(t, "")
	s, _ := openTest(t, loc, "run-a")
	key := testKey(1)
	unlock, err := s.Lock(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	result, _ := lockAsync(t.Context(), s, key)
	select {
	case r := <-result:
		t.Fatalf("a second Lock in the same process returned (err %v) while the first holds", r.err)
	default:
	}
	unlock()
	r := within(t, result, bound, "the second Lock after the first unlock")
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.unlock()
}

// A key found done needs no lease: the caller reads its record. One
// whose record is gone from S3 is claimed as if never baked.
func TestLockDone(t *testing.T) {
	loc := newCache(t, "")
	a, _ := openTest(t, loc, "run-a")
	b, w := openTest(t, loc, "run-b")
	ctx := t.Context()
	good, lost := testKey(1), testKey(2)
	for _, key := range []string{good, lost} {
		if err := a.Put(ctx, testRecord(key, "//apps:api")); err != nil {
			t.Fatal(err)
		}
	}
	deleteObject(t, a, loc.recordKey(lost))

	unlock, err := b.Lock(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	if it := item(t, b, good); it["status"] != "done" {
		t.Errorf("item of a done key after Lock = %v", it)
	}
	unlock()
	if it := item(t, b, good); it["status"] != "done" {
		t.Errorf("item of a done key after unlock = %v", it)
	}

	unlock, err = b.Lock(ctx, lost)
	if err != nil {
		t.Fatal(err)
	}
	if it := item(t, b, lost); it["status"] != "baking" || it["owner"] != "run-b" || it["location"] != nil {
		t.Errorf("item of a done key with no record after Lock = %v, want leased to run-b", it)
	}
	if msgs := w.got(); len(msgs) != 1 || !strings.Contains(msgs[0], "missing from S3") {
		t.Errorf("warnings: %q", msgs)
	}
	unlock()
}

// A holder whose lease was taken from it (say, after a long network
// outage) says so at its next renewal.
func TestLostLeaseWarns(t *testing.T) {
	loc := newCache(t, "&lease=1s")
	a, _ := openTest(t, loc, "run-a")
	b, _ := openTest(t, loc, "run-b")
	ctx := t.Context()
	key := testKey(1)
	warned := make(chan string, 4)
	a.warn = func(format string, args ...any) { warned <- fmt.Sprintf(format, args...) }
	unlockA, err := a.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlockA()
	// b claims the key with a's lease still live, as if a's had expired.
	if err := b.putLease(ctx, key, time.Now(), "attribute_exists(#key)", nil); err != nil {
		t.Fatal(err)
	}
	msg := within(t, warned, bound, "a's warning")
	if !strings.Contains(msg, "lost the lease") {
		t.Errorf("warning %q", msg)
	}
	unlockA()
	if it := item(t, b, key); it["owner"] != "run-b" {
		t.Errorf("a's unlock released b's lease: item = %v", it)
	}
}
