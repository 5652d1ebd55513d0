package cache

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Digests remembers the sha256 of the files keys are computed from, by
// each file's path and what stat says of it (size, modification and
// change times, inode, device, mode), as git's index does, so that a file
// that has not changed is never read again.
//
// An entry is trusted only when everything stat says is as it was, and
// the file last changed before the digests were written (by the file
// system's clock: the file's own time). A file changed within the same
// tick as it was hashed ("racily clean", in git's words) could change
// again without its times moving, so it is read again. A file written by
// another process while it was hashed is never recorded: its stat is
// taken before and after the read.
type Digests struct {
	path string

	mu      sync.Mutex
	written time.Time // when the file was last written, by its own mtime
	entries map[string]digestEntry
	used    map[string]bool // looked up or stored by this process
	changed bool
}

// digestEntry is one file's digest and its stat when it was read.
type digestEntry struct {
	stat   FileStat
	digest string
	fresh  bool // read by this process
}

// FileStat is what stat says of a file that a digest depends on.
type FileStat struct {
	Size         int64
	MTime, CTime int64 // nanoseconds since the epoch
	Ino, Dev     uint64
	Mode         uint32
}

// maxDigests bounds the entries kept: beyond it, those this process did
// not use are dropped when it saves.
const maxDigests = 500_000

const digestsHeader = "imgraph-digests 1"

// Digests opens the digest cache kept in the cache directory. A missing
// or unreadable one is empty: it is only a cache.
func (c *Local) Digests() *Digests {
	d := &Digests{path: filepath.Join(c.dir, "digests"), entries: map[string]digestEntry{}, used: map[string]bool{}}
	d.read()
	return d
}

func (d *Digests) read() {
	f, err := os.Open(d.path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || sc.Text() != digestsHeader {
		return
	}
	entries := map[string]digestEntry{}
	for sc.Scan() {
		path, e, ok := parseDigestLine(sc.Bytes())
		if !ok {
			return // damaged: start again
		}
		entries[path] = e
	}
	if sc.Err() != nil {
		return
	}
	d.entries, d.written = entries, fi.ModTime()
}

// parseDigestLine reads "digest size mtime ctime ino dev mode path".
func parseDigestLine(line []byte) (string, digestEntry, bool) {
	fields := bytes.SplitN(line, []byte{' '}, 8)
	if len(fields) != 8 || len(fields[0]) != 64 {
		return "", digestEntry{}, false
	}
	var nums [6]uint64
	for i := range nums {
		n, err := strconv.ParseUint(string(fields[i+1]), 10, 64)
		if err != nil {
			return "", digestEntry{}, false
		}
		nums[i] = n
	}
	st := FileStat{Size: int64(nums[0]), MTime: int64(nums[1]), CTime: int64(nums[2]), Ino: nums[3], Dev: nums[4], Mode: uint32(nums[5])}
	return string(fields[7]), digestEntry{stat: st, digest: string(fields[0])}, true
}

// Lookup returns the digest of the file at path, which stat says fi of,
// when it is known and can be trusted.
func (d *Digests) Lookup(path string, fi fs.FileInfo) (string, bool) {
	st, ok := StatOf(fi)
	if !ok {
		return "", false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[path]
	if !ok || e.stat != st {
		return "", false
	}
	// Changed in the tick the digests were written, or after by a clock
	// that runs behind: it may have changed again unseen.
	written := d.written.UnixNano()
	if e.stat.MTime >= written || e.stat.CTime >= written {
		return "", false
	}
	d.used[path] = true
	return e.digest, true
}

// Store records the digest of the file at path, read between two stats
// that said before and after of it; a file that changed meanwhile is not
// recorded.
func (d *Digests) Store(path string, before, after fs.FileInfo, digest string) {
	b, ok1 := StatOf(before)
	a, ok2 := StatOf(after)
	if !ok1 || !ok2 || a != b || strings.ContainsAny(path, "\n\r") || len(digest) != 64 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.used[path] = true
	if e, ok := d.entries[path]; ok && e.stat == b && e.digest == digest {
		return
	}
	d.entries[path] = digestEntry{stat: b, digest: digest, fresh: true}
	d.changed = true
}

// Save writes the digests back, when this process learned anything, in
// one atomic rename: processes that save at once each leave a whole file
// (the last one's), and every entry in it checks itself.
//
// Only entries known good are written: those that changed before the
// file they were read from was written, and those read now that changed
// before this file is. An entry racily clean is dropped rather than kept,
// for the next file's later time would otherwise make it look trusted
// (git smudges such entries for the same reason).
func (d *Digests) Save() (err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.changed {
		return nil
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("cache: saving the file digests: %w", err)
		}
	}()
	tmp, err := os.CreateTemp(filepath.Dir(d.path), ".digests.tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	fi, err := tmp.Stat()
	if err != nil {
		return err
	}
	now, before := fi.ModTime().UnixNano(), d.written.UnixNano()
	w := bufio.NewWriterSize(tmp, 256<<10)
	w.WriteString(digestsHeader + "\n")
	for path, e := range d.entries {
		limit := before
		if e.fresh {
			limit = now
		}
		s := e.stat
		if s.MTime >= limit || s.CTime >= limit || len(d.entries) > maxDigests && !d.used[path] {
			continue
		}
		fmt.Fprintf(w, "%s %d %d %d %d %d %d %s\n", e.digest, s.Size, s.MTime, s.CTime, s.Ino, s.Dev, s.Mode, path)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), d.path); err != nil {
		return err
	}
	d.changed = false
	return nil
}
