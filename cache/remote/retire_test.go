package remote

import (
	"testing"
)

func TestHeldAndRemove(t *testing.T) {
	loc := newCache(t, "&lease=5s")
	a, _ := openTest(t, loc, "run-a")
	b, _ := openTest(t, loc, "run-b")
	ctx := t.Context()
	key, cur := testKey(1), testKey(2)

	if held, err := b.Held(ctx, key); err != nil || held {
		t.Fatalf("Held of a key no one has = %v, %v", held, err)
	}
	unlock, err := a.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if held, err := b.Held(ctx, key); err != nil || !held {
		t.Errorf("Held while run-a holds the lease = %v, %v", held, err)
	}
	if err := b.Remove(ctx, key); err == nil {
		t.Error("Remove of a key under a lease: no error")
	}
	if err := a.Put(ctx, testRecord(key, "//base:base")); err != nil {
		t.Fatal(err)
	}
	unlock()
	if held, err := b.Held(ctx, key); err != nil || held {
		t.Errorf("Held once recorded = %v, %v", held, err)
	}
	if err := a.Put(ctx, testRecord(cur, "//base:base")); err != nil {
		t.Fatal(err)
	}

	if err := b.Remove(ctx, key); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, []string{key, cur})
	if err != nil || got[key] != nil || got[cur] == nil {
		t.Fatalf("Get after Remove = %v, %v; want only %s", got, err, cur)
	}
	if latest, err := b.Latest(ctx, "//base:base"); err != nil || latest == nil || latest.Key != cur {
		t.Errorf("Latest after removing an older record = %v, %v", latest, err)
	}
	if err := b.Remove(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if latest, err := b.Latest(ctx, "//base:base"); err != nil || latest != nil {
		t.Errorf("Latest after removing its record = %v, %v; want none", latest, err)
	}
	if err := b.Remove(ctx, cur); err != nil {
		t.Errorf("Remove again: %v", err)
	}
}
