package cache

import (
	"testing"
)

func TestRemoveForgetsRecordAndItsPointer(t *testing.T) {
	l, _ := openTest(t, t.TempDir())
	ctx := t.Context()
	old, cur := testRecord(testKey(1), "//base:base"), testRecord(testKey(2), "//base:base")
	other := testRecord(testKey(3), "//apps:api")
	for _, rec := range []*Record{old, cur, other} {
		if err := l.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	// The label's pointer names cur: removing old leaves it.
	if err := l.Remove(ctx, old.Key); err != nil {
		t.Fatal(err)
	}
	got, err := l.Get(ctx, []string{old.Key, cur.Key, other.Key})
	if err != nil || got[old.Key] != nil || got[cur.Key] == nil || got[other.Key] == nil {
		t.Fatalf("Get after removing %s = %v, %v; want the two others", old.Key, got, err)
	}
	if latest, err := l.Latest(ctx, "//base:base"); err != nil || latest == nil || latest.Key != cur.Key {
		t.Errorf("Latest after removing an older record = %v, %v; want %s", latest, err, cur.Key)
	}
	// Removing what the pointer names removes the pointer too.
	if err := l.Remove(ctx, other.Key); err != nil {
		t.Fatal(err)
	}
	if latest, err := l.Latest(ctx, "//apps:api"); err != nil || latest != nil {
		t.Errorf("Latest after removing the label's record = %v, %v; want none", latest, err)
	}
	// Again: nothing to remove is no error.
	if err := l.Remove(ctx, other.Key); err != nil {
		t.Errorf("removing a removed record: %v", err)
	}
	if err := l.Remove(ctx, "not-a-key"); err == nil {
		t.Error("removing a malformed key: no error")
	}
}

func TestHeldSeesAnotherHolder(t *testing.T) {
	dir := t.TempDir()
	a, _ := openTest(t, dir)
	b, _ := openTest(t, dir)
	key := testKey(1)
	if held, err := b.Held(t.Context(), key); err != nil || held {
		t.Fatalf("Held of a free key = %v, %v", held, err)
	}
	unlock, err := a.Lock(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if held, err := b.Held(t.Context(), key); err != nil || !held {
		t.Errorf("Held while another Local holds the key = %v, %v", held, err)
	}
	unlock()
	if held, err := b.Held(t.Context(), key); err != nil || held {
		t.Errorf("Held once released = %v, %v", held, err)
	}
	// Held let the key go: it can be locked at once.
	unlock, err = a.Lock(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}
