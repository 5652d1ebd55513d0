package cache

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FileIndex remembers a value worked out from each of many files (a
// digest, a record's summary, that an image is whole), by the file's name
// and what stat says of it (size, modification and change times, inode,
// device, mode), as git's index does, so that a file that has not changed
// is never read again. Every method is safe for concurrent use.
//
// An entry is trusted only when everything stat says is as it was. A file
// changed shortly before it was read ("racily clean", in git's words)
// could change again within the same tick of the file system's clock,
// its times not moving, so it is not recorded: only files that last
// changed a second (RacyWindow) before the index was opened are. As git
// does, an entry is also trusted only when the file last changed before
// the index was written, by the file system's own clock, which holds
// where that clock and this machine's disagree. A file that changed while
// it was read is never recorded: its stat is taken before and after.
//
// The index is one file, replaced by rename: processes that save at once
// each leave a whole file (the last one's), and every entry in it checks
// itself. A checksum at its end finds a file damaged on disk; such a file
// is no index, and everything is read again.
type FileIndex struct {
	path   string
	header string
	max    int // entries kept; beyond it, those this process did not use are dropped

	opened time.Time // by this machine's clock

	mu      sync.Mutex
	written time.Time // when the file was last written, by its own mtime
	entries map[string]fileEntry
	used    map[string]bool // looked up or stored by this process
	changed bool
}

// fileEntry is one file's value and its stat when it was read.
type fileEntry struct {
	stat  FileStat
	value string
	fresh bool // read by this process
}

// FileStat is what stat says of a file that a value worked out from it
// depends on.
type FileStat struct {
	Size         int64
	MTime, CTime int64 // nanoseconds since the epoch
	Ino, Dev     uint64
	Mode         uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// RacyWindow is how long before a run opened an index a file must have
// last changed for what the run read of it to be recorded: longer than any
// tick of a file system's clock. A file changed since is read again by the
// next run.
const RacyWindow = time.Second

// openFileIndex reads the index at path. A missing, unreadable or damaged
// one is empty: it is only a cache.
func openFileIndex(path, header string, max int) *FileIndex {
	x := &FileIndex{path: path, header: header, max: max, opened: time.Now(), entries: map[string]fileEntry{}, used: map[string]bool{}}
	x.read()
	return x
}

// The file is the header line, then one line per entry:
//
//	size mtime ctime ino dev mode len(name) name value
//
// then "end <entries> <crc32c of everything before it>". Neither names
// nor values hold a newline.
func (x *FileIndex) read() {
	f, err := os.Open(x.path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	if _, err := buf.ReadFrom(f); err != nil {
		return
	}
	data := buf.Bytes()
	body, trailer, ok := cutTrailer(data)
	if !ok || !bytes.HasPrefix(body, []byte(x.header+"\n")) {
		return
	}
	var count int
	var sum uint32
	if _, err := fmt.Sscanf(trailer, "end %d %d", &count, &sum); err != nil || count < 0 || sum != crc32.Checksum(body, castagnoli) {
		return
	}
	// The count sizes the map only as far as the body could hold it: the
	// trailer is not under the checksum.
	entries := make(map[string]fileEntry, min(count, len(body)/16))
	for line := range bytes.Lines(body[len(x.header)+1:]) {
		name, e, ok := parseFileEntry(bytes.TrimSuffix(line, []byte{'\n'}))
		if !ok {
			return
		}
		entries[name] = e
	}
	if len(entries) != count {
		return
	}
	x.entries, x.written = entries, fi.ModTime()
}

// cutTrailer splits the file's last line from the rest.
func cutTrailer(data []byte) (body []byte, trailer string, ok bool) {
	if !bytes.HasSuffix(data, []byte{'\n'}) {
		return nil, "", false
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n')
	if i < 0 {
		return nil, "", false
	}
	return data[:i+1], string(data[i+1 : len(data)-1]), true
}

func parseFileEntry(line []byte) (string, fileEntry, bool) {
	var nums [7]uint64
	for i := range nums {
		field, rest, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			return "", fileEntry{}, false
		}
		n, err := strconv.ParseUint(string(field), 10, 64)
		if err != nil {
			return "", fileEntry{}, false
		}
		nums[i], line = n, rest
	}
	n := nums[6]
	if uint64(len(line)) < n+1 || line[n] != ' ' {
		return "", fileEntry{}, false
	}
	st := FileStat{Size: int64(nums[0]), MTime: int64(nums[1]), CTime: int64(nums[2]), Ino: nums[3], Dev: nums[4], Mode: uint32(nums[5])}
	return string(line[:n]), fileEntry{stat: st, value: string(line[n+1:])}, true
}

// Lookup returns name's value when the file, which stat says fi of, is as
// it was when the value was stored, and the entry can be trusted.
func (x *FileIndex) Lookup(name string, fi fs.FileInfo) (string, bool) {
	st, ok := StatOf(fi)
	if !ok {
		return "", false
	}
	return x.lookup(name, st)
}

// Store records name's value, worked out from the file between two stats
// that said before and after of it; a file that changed meanwhile, or
// changed too recently to be sure of, is not recorded.
func (x *FileIndex) Store(name string, before, after fs.FileInfo, value string) {
	b, ok1 := StatOf(before)
	a, ok2 := StatOf(after)
	if ok1 && ok2 {
		x.store(name, b, a, value)
	}
}

// Save writes the index back, when this process learned anything.
func (x *FileIndex) Save() error {
	if err := x.save(); err != nil {
		return fmt.Errorf("cache: saving %s: %w", x.path, err)
	}
	return nil
}

func (x *FileIndex) lookup(name string, st FileStat) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e, ok := x.entries[name]
	if !ok || e.stat != st {
		return "", false
	}
	// Changed in the tick the index was written, or after by a clock that
	// runs behind: it may have changed again unseen.
	written := x.written.UnixNano()
	if e.stat.MTime >= written || e.stat.CTime >= written {
		return "", false
	}
	x.used[name] = true
	return e.value, true
}

func (x *FileIndex) store(name string, before, after FileStat, value string) {
	recent := x.opened.Add(-RacyWindow).UnixNano()
	if before != after || before.MTime >= recent || before.CTime >= recent ||
		strings.ContainsAny(name, "\n\r") || strings.ContainsAny(value, "\n\r") {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.used[name] = true
	if e, ok := x.entries[name]; ok && e.stat == before && e.value == value {
		return
	}
	x.entries[name] = fileEntry{stat: before, value: value, fresh: true}
	x.changed = true
}

// Only entries known good are written: those that changed before the
// file they were read from was written, and those read now that changed
// before this file is. An entry racily clean is dropped rather than kept,
// for the next file's later time would otherwise make it look trusted
// (git smudges such entries for the same reason).
func (x *FileIndex) save() (err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.changed {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(x.path), "."+filepath.Base(x.path)+".tmp-*")
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
	now, before := fi.ModTime().UnixNano(), x.written.UnixNano()
	sum := crc32.New(castagnoli)
	w := bufio.NewWriterSize(io.MultiWriter(tmp, sum), 256<<10)
	w.WriteString(x.header + "\n")
	kept := make(map[string]fileEntry, len(x.entries))
	for name, e := range x.entries {
		limit := before
		if e.fresh {
			limit = now
		}
		s := e.stat
		if s.MTime >= limit || s.CTime >= limit || len(x.entries) > x.max && !x.used[name] {
			continue
		}
		fmt.Fprintf(w, "%d %d %d %d %d %d %d %s %s\n", s.Size, s.MTime, s.CTime, s.Ino, s.Dev, s.Mode, len(name), name, e.value)
		e.fresh = false
		kept[name] = e
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(tmp, "end %d %d\n", len(kept), sum.Sum32()); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if fi, err = tmp.Stat(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), x.path); err != nil {
		return err
	}
	// From now on this process holds what the file holds, as one that
	// read it would.
	x.entries, x.written, x.changed = kept, fi.ModTime(), false
	return nil
}
