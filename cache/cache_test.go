package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lock tests re-run this test binary as a second process that holds a
// lock; these variables tell it to do that instead of running tests.
const (
	childDirEnv = "IMGRAPH_CACHE_TEST_LOCK_DIR"
	childKeyEnv = "IMGRAPH_CACHE_TEST_LOCK_KEY"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		os.Exit(holdLock(dir, os.Getenv(childKeyEnv)))
	}
	os.Exit(m.Run())
}

// holdLock takes key's lock, says "locked", and holds it until stdin closes.
func holdLock(dir, key string) int {
	l, err := OpenLocal(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if run, ok := strings.CutPrefix(key, "run:"); ok {
		release, err := l.HoldRun(run)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("held")
		io.Copy(io.Discard, os.Stdin)
		release()
		return 0
	}
	unlock, err := l.Lock(context.Background(), key)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	unlock()
	return 0
}

// testKey is a valid key, distinct for each n.
func testKey(n int) string {
	sum := sha256.Sum256([]byte(fmt.Sprint("key ", n)))
	return hex.EncodeToString(sum[:])
}

func testRecord(key, label string) *Record {
	return &Record{
		Key:      key,
		Label:    label,
		Platform: "aws",
		Images:   map[string]string{"us-east-1": "ami-0123456789abcdef0", "eu-west-1": "ami-0fedcba9876543210"},
		Tags:     map[string]string{"Role": "api"},
		Inputs:   []byte(`{"script":"1a2b"}`),
		RunID:    "run-1",
		Created:  time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC),
	}
}

// warnings collects what a Local warns, safely from many goroutines.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) warn(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, fmt.Sprintf(format, args...))
}

func (w *warnings) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func openTest(t testing.TB, dir string) (*Local, *warnings) {
	t.Helper()
	w := new(warnings)
	l, err := OpenLocal(dir, w.warn)
	if err != nil {
		t.Fatal(err)
	}
	return l, w
}

func TestBadKeysRejected(t *testing.T) {
	good := testKey(0)
	for _, tc := range []struct{ name, key string }{
		{"empty", ""},
		{"short", good[:63]},
		{"long", good + "0"},
		{"upper case", strings.ToUpper(good)},
		{"not hex", "g" + good[1:]},
		{"path traversal", "../../../../../../etc/passwd" + good[28:]},
		{"slash", good[:30] + "/" + good[31:]},
		{"nul", good[:63] + "\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, _ := openTest(t, dir)
			ctx := t.Context()
			if _, err := l.Get(ctx, []string{good, tc.key}); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Get: err = %v, want ErrInvalidKey", err)
			}
			if err := l.Put(ctx, testRecord(tc.key, "//a:a")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put: err = %v, want ErrInvalidKey", err)
			}
			if unlock, err := l.Lock(ctx, tc.key); !errors.Is(err, ErrInvalidKey) {
				if unlock != nil {
					unlock()
				}
				t.Errorf("Lock: err = %v, want ErrInvalidKey", err)
			}
			if st, err := l.Stat(ctx); err != nil || st.Records != 0 || st.Labels != 0 {
				t.Errorf("Stat = %+v, %v; want nothing stored", st, err)
			}
		})
	}
}

func TestDefaultDir(t *testing.T) {
	for _, tc := range []struct {
		name, imgraph, xdg, home, want string
	}{
		{"IMGRAPH_CACHE_DIR first", "/srv/imgraph", "/xdg", "/home/u", "/srv/imgraph"},
		{"then XDG_CACHE_HOME", "", "/xdg", "/home/u", "/xdg/imgraph"},
		{"relative XDG_CACHE_HOME is ignored", "", "xdg", "/home/u", "/home/u/.cache/imgraph"},
		{"then the home directory", "", "", "/home/u", "/home/u/.cache/imgraph"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("IMGRAPH_CACHE_DIR", tc.imgraph)
			t.Setenv("XDG_CACHE_HOME", tc.xdg)
			t.Setenv("HOME", tc.home)
			got, err := DefaultDir()
			if err != nil || got != tc.want {
				t.Errorf("DefaultDir() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
