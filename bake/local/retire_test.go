//go:build linux

package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
)

// fakeImage puts a whole image of key, published as label, in the cache
// without baking it.
func fakeImage(t *testing.T, b *Baker, key, label string) {
	t.Helper()
	dir := b.ImageDir(key)
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "version"), make([]byte, 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.entriesPath(key), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pub := `{"id": "` + key + `", "label": "` + label + `", "tags": {"imgraph:key": "` + key + `", "imgraph:label": "` + label + `"}}`
	if err := os.WriteFile(b.store.Path("images", key+".json"), []byte(pub), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBakedAndRetire(t *testing.T) {
	store, err := cache.OpenLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Baker{store: store, warn: func(format string, args ...any) { t.Logf(format, args...) }}
	if err := os.MkdirAll(store.Path("images"), 0o755); err != nil {
		t.Fatal(err)
	}
	k1, k2 := "aa11", "bb22"
	fakeImage(t, b, k1, "//base:base")
	fakeImage(t, b, k2, "//base:base")
	// A tree a killed gc left aside, and a bake in progress.
	for _, d := range []string{".tmp-retired-cc33-0123", ".tmp-dd44-4567"} {
		if err := os.MkdirAll(store.Path("images", d, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	images, err := b.Baked(ctx, []string{"us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 2 {
		t.Fatalf("Baked = %+v, want the two whole images", images)
	}
	for _, img := range images {
		if img.Label != "//base:base" || img.Key != img.ID || img.Region != "local" || img.Bytes < 10000 || img.Created.IsZero() {
			t.Errorf("Baked lists %+v", img)
		}
	}

	// A label recorded anew since it was listed: kept.
	moved := images[0]
	moved.Label = "//other:other"
	var still *bake.StillWantedError
	if _, err := b.Retire(ctx, moved); !errors.As(err, &still) {
		t.Errorf("Retire of an image recorded as another label: %v", err)
	}

	retired, err := b.Retire(ctx, images[0])
	if err != nil || !retired.Gone || retired.Freed != images[0].Bytes {
		t.Fatalf("Retire: %+v, %v", retired, err)
	}
	id := images[0].ID
	for _, p := range []string{b.ImageDir(id), b.entriesPath(id), store.Path("images", id+".json"), store.Path("images", ".tmp-retired-cc33-0123")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left: %v", p, err)
		}
	}
	if _, err := os.Lstat(store.Path("images", ".tmp-dd44-4567")); err != nil {
		t.Errorf("a bake in progress went: %v", err)
	}
	if again, err := b.Retire(ctx, images[0]); err != nil || !again.Gone {
		t.Errorf("Retire again: %+v, %v", again, err)
	}
	if ok, _ := b.exists(images[1].ID); !ok {
		t.Error("the other image went")
	}
}
