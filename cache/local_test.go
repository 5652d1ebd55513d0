package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  *Record
	}{
		{"full", testRecord(testKey(1), "//apps/api:api")},
		{"minimal", &Record{Key: testKey(2), Label: "//base:al2023", Images: map[string]string{}, Created: time.Unix(0, 1).UTC()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, w := openTest(t, t.TempDir())
			ctx := t.Context()
			if err := l.Put(ctx, tc.rec); err != nil {
				t.Fatal(err)
			}
			got, err := l.Get(ctx, []string{tc.rec.Key})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[tc.rec.Key], tc.rec) {
				t.Errorf("Get = %+v\nwant %+v", got[tc.rec.Key], tc.rec)
			}
			latest, err := l.Latest(ctx, tc.rec.Label)
			if err != nil || !reflect.DeepEqual(latest, tc.rec) {
				t.Errorf("Latest = %+v, %v\nwant %+v", latest, err, tc.rec)
			}
			if msgs := w.got(); len(msgs) != 0 {
				t.Errorf("warnings: %q", msgs)
			}
		})
	}
}

func TestPutFillsCreated(t *testing.T) {
	l, _ := openTest(t, t.TempDir())
	rec := testRecord(testKey(1), "//a:a")
	rec.Created = time.Time{}
	if err := l.Put(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Created.IsZero() {
		t.Errorf("Put changed the caller's record: Created = %v", rec.Created)
	}
	got, _ := l.Get(t.Context(), []string{rec.Key})
	if got[rec.Key] == nil || got[rec.Key].Created.IsZero() {
		t.Errorf("stored record has no Created: %+v", got[rec.Key])
	}
}

func TestPutRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  *Record
		want string
	}{
		{"nil record", nil, "nil record"},
		{"no label", &Record{Key: testKey(1)}, "has no label"},
		{"bad inputs", &Record{Key: testKey(1), Label: "//a:a", Inputs: []byte("{")}, "encoding record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := openTest(t, t.TempDir())
			if err := l.Put(t.Context(), tc.rec); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Put: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestGetMany(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keys     int
		stored   func(i int) bool
		extraDup bool
	}{
		{"none asked", 0, func(int) bool { return true }, false},
		{"all present", 100, func(int) bool { return true }, false},
		{"all missing", 100, func(int) bool { return false }, false},
		{"every third missing", 300, func(i int) bool { return i%3 != 0 }, false},
		{"duplicates asked", 50, func(i int) bool { return i%2 == 0 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, w := openTest(t, t.TempDir())
			ctx := t.Context()
			var keys []string
			want := map[string]*Record{}
			for i := range tc.keys {
				key := testKey(i)
				keys = append(keys, key)
				if tc.stored(i) {
					rec := testRecord(key, fmt.Sprintf("//pkg:img%d", i))
					if err := l.Put(ctx, rec); err != nil {
						t.Fatal(err)
					}
					want[key] = rec
				}
			}
			if tc.extraDup {
				keys = append(keys, keys...)
			}
			got, err := l.Get(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Get returned %d records, want %d", len(got), len(want))
			}
			if msgs := w.got(); len(msgs) != 0 {
				t.Errorf("warnings: %q", msgs)
			}
		})
	}
}

func TestGetCancelled(t *testing.T) {
	l, _ := openTest(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Get(ctx, []string{testKey(1)}); err != context.Canceled {
		t.Errorf("Get with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestLatestFollowsLastPut(t *testing.T) {
	type put struct {
		key   int
		label string
	}
	for _, tc := range []struct {
		name string
		puts []put
		want map[string]int // label -> key of its latest record; -1: none
	}{
		{"never put", nil, map[string]int{"//a:a": -1}},
		{"one put", []put{{1, "//a:a"}}, map[string]int{"//a:a": 1, "//b:b": -1}},
		{"rebake", []put{{1, "//a:a"}, {2, "//a:a"}, {3, "//a:a"}}, map[string]int{"//a:a": 3}},
		{"back to an older key", []put{{1, "//a:a"}, {2, "//a:a"}, {1, "//a:a"}}, map[string]int{"//a:a": 1}},
		{"labels apart", []put{{1, "//a:a"}, {2, "//b:b"}, {3, "//a:a"}}, map[string]int{"//a:a": 3, "//b:b": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, w := openTest(t, t.TempDir())
			ctx := t.Context()
			for _, p := range tc.puts {
				if err := l.Put(ctx, testRecord(testKey(p.key), p.label)); err != nil {
					t.Fatal(err)
				}
			}
			for label, want := range tc.want {
				got, err := l.Latest(ctx, label)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case want < 0 && got != nil:
					t.Errorf("Latest(%s) = %s, want nil", label, got.Key)
				case want >= 0 && (got == nil || got.Key != testKey(want) || got.Label != label):
					t.Errorf("Latest(%s) = %+v, want key %d", label, got, want)
				}
			}
			if msgs := w.got(); len(msgs) != 0 {
				t.Errorf("warnings: %q", msgs)
			}
		})
	}
}

func TestCorruptRecordIsMiss(t *testing.T) {
	key := testKey(1)
	valid, _ := json.Marshal(testRecord(key, "//a:a"))
	other, _ := json.Marshal(testRecord(testKey(2), "//a:a"))
	for _, tc := range []struct {
		name       string
		write      func(path string) error // replaces the record at path
		unreadable bool                    // not a file a new Put can replace
		want       string                  // the warning, after "<path>: "
	}{
		{"bad json", writeString("{not json"), false, "invalid character 'n' looking for beginning of object key string"},
		{"truncated", writeString(string(valid[:len(valid)/2])), false, "unexpected end of JSON input"},
		{"empty", writeString(""), false, "unexpected end of JSON input"},
		{"null", writeString("null"), false, `it holds key ""`},
		{"wrong type", writeString(`{"key": 7}`), false, "json: cannot unmarshal number into Go struct field Record.key of type string"},
		{"wrong key inside", writeString(string(other)), false, fmt.Sprintf("it holds key %q", testKey(2))},
		{"no label", writeString(fmt.Sprintf(`{"key": %q}`, key)), false, "it has no label"},
		{"trailing garbage", writeString(string(valid) + "}"), false, "invalid character '}' after top-level value"},
		{"a directory", func(path string) error { os.Remove(path); return os.Mkdir(path, 0o755) }, true, "read PATH: is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, w := openTest(t, t.TempDir())
			ctx := t.Context()
			if err := l.Put(ctx, testRecord(key, "//a:a")); err != nil {
				t.Fatal(err)
			}
			path := l.recordPath(key)
			if err := tc.write(path); err != nil {
				t.Fatal(err)
			}
			got, err := l.Get(ctx, []string{key, testKey(3)})
			if err != nil || len(got) != 0 {
				t.Errorf("Get = %v, %v; want a miss and no error", got, err)
			}
			latest, err := l.Latest(ctx, "//a:a")
			if err != nil || latest != nil {
				t.Errorf("Latest = %+v, %v; want nil, nil", latest, err)
			}
			what := "corrupt"
			if tc.unreadable {
				what = "unreadable"
			}
			want := fmt.Sprintf("cache: ignoring %s record %s: %s", what, path, strings.ReplaceAll(tc.want, "PATH", path))
			if msgs := w.got(); len(msgs) != 1 || msgs[0] != want {
				t.Errorf("warnings:\n%q\nwant once:\n%q", msgs, want)
			}

			// A new bake replaces the corrupt record.
			if !tc.unreadable {
				rec := testRecord(key, "//a:a")
				if err := l.Put(ctx, rec); err != nil {
					t.Fatal(err)
				}
				if got, _ := l.Get(ctx, []string{key}); !reflect.DeepEqual(got[key], rec) {
					t.Errorf("after a new Put, Get = %+v", got[key])
				}
			}
		})
	}
}

func writeString(s string) func(path string) error {
	return func(path string) error { return os.WriteFile(path, []byte(s), 0o644) }
}

func TestCorruptLabelPointerIsMiss(t *testing.T) {
	const label = "//apps/api:api"
	key := testKey(1)
	for _, tc := range []struct {
		name    string
		pointer string
		want    string // the warning, after "<path>"
	}{
		{"bad json", `{"label": `, " for //apps/api:api: unexpected end of JSON input"},
		{"other label", fmt.Sprintf(`{"label": "//b:b", "key": %q}`, key), ` for //apps/api:api: it holds label "//b:b"`},
		{"bad key", `{"label": "//apps/api:api", "key": "../x"}`, ` for //apps/api:api: cache: invalid key "../x": want 64 lowercase hex digits, have 4 characters`},
		{"no record", fmt.Sprintf(`{"label": "//apps/api:api", "key": %q}`, testKey(9)), " for //apps/api:api names key " + testKey(9) + ", which has no record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, w := openTest(t, t.TempDir())
			ctx := t.Context()
			if err := l.Put(ctx, testRecord(key, label)); err != nil {
				t.Fatal(err)
			}
			path := l.labelPath(label)
			if err := os.WriteFile(path, []byte(tc.pointer), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := l.Latest(ctx, label)
			if err != nil || got != nil {
				t.Errorf("Latest = %+v, %v; want nil, nil", got, err)
			}
			prefix := "cache: ignoring corrupt label pointer "
			if tc.name == "no record" {
				prefix = "cache: label pointer "
			}
			want := prefix + path + tc.want
			if msgs := w.got(); len(msgs) != 1 || msgs[0] != want {
				t.Errorf("warnings:\n%q\nwant once:\n%q", msgs, want)
			}
		})
	}
}

// TestConcurrentPuts has many goroutines put the same and different keys
// while others read them; every read must see a whole record.
func TestConcurrentPuts(t *testing.T) {
	const writers = 32
	shared := testKey(-1)
	dir := t.TempDir()
	ctx := t.Context()
	var wg sync.WaitGroup
	var all []*warnings
	common, w := openTest(t, dir)
	all = append(all, w)
	for i := range writers {
		// Half the writers share a Local; the others have their own, as
		// other processes would.
		l := common
		if i%2 == 1 {
			l, w = openTest(t, dir)
			all = append(all, w)
		}
		wg.Go(func() {
			for round := range 4 {
				rec := testRecord(shared, "//shared:img")
				rec.RunID = fmt.Sprintf("run-%d-%d", i, round)
				if err := l.Put(ctx, rec); err != nil {
					t.Error(err)
				}
				own := testRecord(testKey(i), fmt.Sprintf("//own:img%d", i%4))
				if err := l.Put(ctx, own); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for range 4 {
				got, err := l.Get(ctx, []string{shared, testKey(i), testKey((i + 1) % writers)})
				if err != nil {
					t.Error(err)
				}
				for key, rec := range got {
					if rec.Key != key || len(rec.Images) != 2 {
						t.Errorf("Get read a partial record: %+v", rec)
					}
				}
				if _, err := l.Latest(ctx, "//shared:img"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, w := range all {
		if msgs := w.got(); len(msgs) != 0 {
			t.Errorf("warnings: %q", msgs)
		}
	}

	l, w := openTest(t, dir)
	keys := []string{shared}
	for i := range writers {
		keys = append(keys, testKey(i))
	}
	got, err := l.Get(ctx, keys)
	if err != nil || len(got) != len(keys) {
		t.Fatalf("Get found %d of %d records, err %v", len(got), len(keys), err)
	}
	if !strings.HasPrefix(got[shared].RunID, "run-") {
		t.Errorf("shared record: %+v", got[shared])
	}
	latest, err := l.Latest(ctx, "//shared:img")
	if err != nil || latest == nil || latest.Key != shared {
		t.Errorf("Latest(//shared:img) = %+v, %v", latest, err)
	}
	for i := range 4 {
		if latest, _ := l.Latest(ctx, fmt.Sprintf("//own:img%d", i)); latest == nil {
			t.Errorf("Latest(//own:img%d) = nil", i)
		}
	}
	if msgs := w.got(); len(msgs) != 0 {
		t.Errorf("warnings: %q", msgs)
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", path)
		}
		return nil
	})
}

// TestTwoInstancesShareDir stands two Locals on one directory in for two
// processes: each sees what the other writes.
func TestTwoInstancesShareDir(t *testing.T) {
	dir := t.TempDir()
	a, _ := openTest(t, dir)
	b, _ := openTest(t, filepath.Join(dir, ".")) // the same directory, spelt differently
	ctx := t.Context()
	steps := []struct {
		writer, reader *Local
		key            int
	}{
		{a, b, 1},
		{b, a, 2},
		{a, b, 3},
	}
	for _, s := range steps {
		rec := testRecord(testKey(s.key), "//apps/api:api")
		if err := s.writer.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
		got, err := s.reader.Get(ctx, []string{rec.Key})
		if err != nil || !reflect.DeepEqual(got[rec.Key], rec) {
			t.Errorf("the other Local's Get = %+v, %v", got[rec.Key], err)
		}
		latest, err := s.reader.Latest(ctx, rec.Label)
		if err != nil || latest == nil || latest.Key != rec.Key {
			t.Errorf("the other Local's Latest = %+v, %v; want key %d", latest, err, s.key)
		}
	}
}

func TestStat(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir)
	ctx := t.Context()
	if st, err := l.Stat(ctx); err != nil || st != (Stats{Location: l.Dir()}) {
		t.Errorf("empty cache: Stat = %+v, %v", st, err)
	}
	for i, label := range []string{"//a:a", "//a:a", "//b:b"} {
		if err := l.Put(ctx, testRecord(testKey(i), label)); err != nil {
			t.Fatal(err)
		}
	}
	// What a killed writer leaves, and what another component keeps here.
	os.WriteFile(filepath.Join(dir, "records", ".x.json.tmp-1"), []byte("{"), 0o644)
	os.MkdirAll(l.Path("images", testKey(0)), 0o755)
	os.WriteFile(l.Path("images", testKey(0), "rootfs.tar"), make([]byte, 1000), 0o644)

	st, err := l.Stat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 3 || st.Labels != 2 || st.Location != dir || st.Bytes < 1000 {
		t.Errorf("Stat = %+v, want 3 records, 2 labels, %s, at least 1000 bytes", st, dir)
	}
}

func TestPath(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir)
	if got, want := l.Path("images", testKey(1)), filepath.Join(dir, "images", testKey(1)); got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
	if l.Path() != dir || l.Dir() != dir {
		t.Errorf("Path() = %q, Dir() = %q, want %q", l.Path(), l.Dir(), dir)
	}
}
