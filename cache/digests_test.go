//go:build linux

package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A digest is trusted once its file has settled; an edit that keeps the
// file's size and modification time is still seen (its change time
// moves); a file that changed just before it was read ("racily clean") is
// not recorded; and an entry as new as the file that holds it is not
// trusted, and not written again.
func TestDigests(t *testing.T) {
	t.Parallel() // waits for the clock
	c, _ := openTest(t, t.TempDir())
	dir := t.TempDir()
	f := filepath.Join(dir, "script.sh")
	write(t, f, "echo one\n")
	g := filepath.Join(dir, "other.sh")
	write(t, g, "echo two\n")

	// Read right after it changed: not recorded.
	d := c.Digests()
	if _, ok := d.Lookup(f, stat(t, f)); ok {
		t.Fatal("an empty cache knows a file")
	}
	d.Store(f, stat(t, f), stat(t, f), sum("echo one\n"))
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Digests().Lookup(f, stat(t, f)); ok {
		t.Fatalf("a file read right after it changed was recorded: Lookup = %q", got)
	}

	settle(t, dir, stat(t, g))
	d = c.Digests()
	d.Store(f, stat(t, f), stat(t, f), sum("echo one\n"))
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Digests().Lookup(f, stat(t, f)); !ok || got != sum("echo one\n") {
		t.Fatalf("Lookup after Save = %q, %v; want the digest", got, ok)
	}

	// The same size, and the modification time put back.
	mtime := stat(t, f).ModTime()
	write(t, f, "echo 1!\n\n")
	if err := os.Chtimes(f, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Digests().Lookup(f, stat(t, f)); ok {
		t.Errorf("an edit that kept the size and the time was not seen: Lookup = %q", got)
	}

	// Written in the very tick the file last changed, by the file
	// system's clock: racily clean.
	write(t, f, "echo three\n")
	settle(t, dir, stat(t, f))
	d = c.Digests()
	d.Store(f, stat(t, f), stat(t, f), sum("echo three\n"))
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	digests := filepath.Join(c.dir, "digests")
	changed := stat(t, f).ModTime()
	if err := os.Chtimes(digests, changed, changed); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Digests().Lookup(f, stat(t, f)); ok {
		t.Errorf("a racily clean entry was trusted: Lookup = %q", got)
	}
	// Saved again for another file, later: the racy entry goes, rather
	// than look trusted by the later time.
	d = c.Digests()
	d.Store(g, stat(t, g), stat(t, g), sum("echo two\n"))
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	d = c.Digests()
	if got, ok := d.Lookup(f, stat(t, f)); ok {
		t.Errorf("a racily clean entry was written again and trusted: Lookup = %q", got)
	}
	if got, ok := d.Lookup(g, stat(t, g)); !ok || got != sum("echo two\n") {
		t.Errorf("Lookup of the other file = %q, %v", got, ok)
	}

	// A file that changed while it was read is not recorded.
	h := filepath.Join(dir, "busy.sh")
	write(t, h, "echo busy\n")
	before := stat(t, h)
	write(t, h, "echo busier\n")
	settle(t, dir, stat(t, h))
	d = c.Digests()
	d.Store(h, before, stat(t, h), sum("echo busy\n"))
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	for _, fi := range []os.FileInfo{before, stat(t, h)} {
		if got, ok := c.Digests().Lookup(h, fi); ok {
			t.Errorf("a file that changed while it was read was recorded: %q", got)
		}
	}
}

func write(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func stat(t testing.TB, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func sum(text string) string {
	s := sha256.Sum256([]byte(text))
	return hex.EncodeToString(s[:])
}

// settle waits until fi's file changed longer ago than RacyWindow, by
// this machine's clock, and the file system's clock, as a new file's
// times show it, has moved past its change time too: what is read of it
// now may be recorded.
func settle(t testing.TB, dir string, fi os.FileInfo) {
	t.Helper()
	st, _ := StatOf(fi)
	time.Sleep(time.Until(time.Unix(0, st.CTime).Add(RacyWindow + time.Millisecond)))
	probe := filepath.Join(dir, ".tick")
	for deadline := time.Now().Add(10 * time.Second); ; {
		write(t, probe, "")
		if p, _ := StatOf(stat(t, probe)); p.MTime > st.CTime {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the file system's clock does not move")
		}
	}
}
