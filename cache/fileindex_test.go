package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An index file that is not whole, or not one, is an empty index: never
// an error, a panic, or a wrong entry.
func TestFileIndexDamaged(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "index")
	x := openFileIndex(path, "test 1", 10)
	x.entries["a b"] = fileEntry{stat: FileStat{Size: 1, MTime: 2, CTime: 3, Ino: 4, Dev: 5, Mode: 6}, value: "v 1", fresh: true}
	x.changed = true
	if err := x.save(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := openFileIndex(path, "test 1", 10).entries["a b"].value; got != "v 1" {
		t.Fatalf("the entry read back is %q, want %q", got, "v 1")
	}
	body, trailer, _ := cutTrailer(good)
	for name, data := range map[string]string{
		"empty":            "",
		"another header":   strings.Replace(string(good), "test 1", "test 2", 1),
		"no trailer":       string(body),
		"cut short":        string(good[:len(good)-5]),
		"a byte changed":   strings.Replace(string(good), "v 1", "v 2", 1),
		"a huge count":     string(body) + strings.Replace(trailer, "end 1", "end 999999999999", 1) + "\n",
		"a negative count": string(body) + strings.Replace(trailer, "end 1", "end -1", 1) + "\n",
		"a count too low":  string(body) + strings.Replace(trailer, "end 1", "end 0", 1) + "\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if x := openFileIndex(path, "test 1", 10); len(x.entries) != 0 {
			t.Errorf("%s: read %d entries, want none", name, len(x.entries))
		}
	}
}
