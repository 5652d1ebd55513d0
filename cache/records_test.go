//go:build linux

package cache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A look-up costs a stat per key once the index knows the records: the
// files are not read again, and the answers are summaries. A record
// replaced, or edited in place even keeping its size and time, is read
// again; so is every record when the index is damaged.
func TestGetAnswersFromTheIndex(t *testing.T) {
	t.Parallel() // waits for the clock
	dir := t.TempDir()
	l, w := openTest(t, dir)
	ctx := t.Context()
	var keys []string
	want := map[string]*Record{}
	for i := range 20 {
		rec := testRecord(testKey(i), "//pkg:img")
		if err := l.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, rec.Key)
		want[rec.Key] = rec
	}
	settle(t, dir, stat(t, l.recordPath(keys[len(keys)-1])))
	get := func(what string, reads int64, want map[string]*Record) {
		t.Helper()
		l, _ := openTest(t, dir) // another process
		got, err := l.Get(ctx, append(keys, testKey(99)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Get = %v\nwant %v", what, got, want)
		}
		if n := l.filesRead.Load(); n != reads {
			t.Errorf("%s: Get read %d record files, want %d", what, n, reads)
		}
	}
	summaries := func(except ...string) map[string]*Record {
		out := map[string]*Record{}
		for k, rec := range want {
			out[k] = rec.Summary()
		}
		for _, k := range except {
			out[k] = want[k]
		}
		return out
	}
	get("first look-up", 20, want)
	get("second look-up", 0, summaries())

	// Replaced: a new file.
	replaced := testRecord(keys[3], "//pkg:img")
	replaced.Images["us-east-1"] = "ami-0000000000000000a"
	if err := l.Put(ctx, replaced); err != nil {
		t.Fatal(err)
	}
	want[keys[3]] = replaced
	// Edited in place, the same size, the modification time put back.
	path := l.recordPath(keys[5])
	before := stat(t, path)
	edited := testRecord(keys[5], "//pkg:img")
	edited.Images["us-east-1"] = "ami-0000000000000000b"
	data := readFile(t, path)
	copy(data[bytes.Index(data, []byte("ami-0123456789abcdef0")):], "ami-0000000000000000b")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	want[keys[5]] = edited
	settle(t, dir, stat(t, path))
	get("after a replacement and an edit", 2, summaries(keys[3], keys[5]))
	get("once the index learned them", 0, summaries())

	// Damaged on disk: no index at all.
	index := filepath.Join(dir, "records", "index")
	damaged := readFile(t, index)
	damaged[len(damaged)/2] ^= 1
	if err := os.WriteFile(index, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	get("with the index damaged", 20, want)
	if msgs := w.got(); len(msgs) != 0 {
		t.Errorf("warnings: %q", msgs)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// BenchmarkGet1000 looks up 1,000 records: "files" reads each record's
// file (what the first look-up after a bake does), "indexed" answers from
// the index (what every look-up after does).
func BenchmarkGet1000(b *testing.B) {
	dir := b.TempDir()
	l, _ := openTest(b, dir)
	ctx := b.Context()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = testKey(i)
		if err := l.Put(ctx, testRecord(keys[i], fmt.Sprintf("//pkg:img%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	get := func(l *Local) {
		got, err := l.Get(ctx, keys)
		if err != nil || len(got) != len(keys) {
			b.Fatalf("Get found %d of %d, err %v", len(got), len(keys), err)
		}
	}
	index := filepath.Join(dir, "records", "index")
	b.Run("files", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			os.Remove(index)
			l, _ := openTest(b, dir)
			b.StartTimer()
			get(l)
		}
	})
	settle(b, dir, stat(b, l.recordPath(keys[len(keys)-1])))
	l, _ = openTest(b, dir)
	get(l)
	b.Run("indexed", func(b *testing.B) {
		before := l.filesRead.Load()
		for b.Loop() {
			get(l)
		}
		if n := l.filesRead.Load() - before; n != 0 {
			b.Fatalf("%d record files read, want none", n)
		}
	})
}
