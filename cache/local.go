package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgraph/imgraph/internal/parallel"
)

// getParallelism bounds the files Get reads at once: enough to hide the
// latency of a cold disk or a network file system, few enough not to run
// out of file descriptors.
const getParallelism = 16

// Local is a Store and Locker in a directory, shared safely by every
// imgraph process that opens it:
//
//	records/<first 2 hex digits>/<key>.json  one Record per key
//	labels/<sha256 of label>.json            {label, key, created} of the latest Put
//	locks/<key>.lock                         flock(2)ed while a process bakes key
//
// Files are replaced by rename and never edited in place, so readers take no
// locks. Other components keep their own files under Path (the local baker
// keeps image trees in images/<key>).
type Local struct {
	dir  string
	warn func(format string, args ...any)

	indexOnce sync.Once
	index     *FileIndex // records' summaries by key; see Get

	warnMu sync.Mutex
	warned map[string]bool // warnings already given, so a bad file is reported once

	// lockWaiting, when set (by tests), is called when Lock finds key held
	// by someone else and is about to wait for it.
	lockWaiting func(key string)
	// filesRead counts the record files read, for tests.
	filesRead atomic.Int64
}

var (
	_ Store  = (*Local)(nil)
	_ Locker = (*Local)(nil)
)

// OpenLocal opens the cache in dir, creating it if need be. warn receives
// warnings, such as a corrupt record being ignored; it may be nil.
func OpenLocal(dir string, warn func(format string, args ...any)) (*Local, error) {
	if dir == "" {
		return nil, errors.New("cache: no cache directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	for _, sub := range []string{"records", "labels", "locks"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, &DirError{Dir: abs, Err: err}
		}
	}
	// A directory that cannot be written is found now, not after a bake.
	if err := WriteFileAtomic(filepath.Join(abs, "locks", ".writable"), nil); err != nil {
		return nil, &DirError{Dir: abs, Err: err}
	}
	if warn == nil {
		warn = func(string, ...any) {}
	}
	return &Local{dir: abs, warn: warn, warned: make(map[string]bool)}, nil
}

// DefaultDir is the local cache's directory when none is given:
// $IMGRAPH_CACHE_DIR, else $XDG_CACHE_HOME/imgraph, else ~/.cache/imgraph.
func DefaultDir() (string, error) {
	if dir := os.Getenv("IMGRAPH_CACHE_DIR"); dir != "" {
		return dir, nil
	}
	// The XDG spec says a relative XDG_CACHE_HOME is invalid and is ignored.
	if xdg := os.Getenv("XDG_CACHE_HOME"); xdg != "" && filepath.IsAbs(xdg) {
		return filepath.Join(xdg, "imgraph"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cache: no cache directory: set IMGRAPH_CACHE_DIR or use --cache DIR (%w)", err)
	}
	return filepath.Join(home, ".cache", "imgraph"), nil
}

// Dir is the cache's directory, as an absolute path.
func (l *Local) Dir() string { return l.dir }

// Path is a path under the cache directory, for components that keep their
// own files there. parts are names the caller chose, never user input.
func (l *Local) Path(parts ...string) string {
	return filepath.Join(append([]string{l.dir}, parts...)...)
}

func (l *Local) recordPath(key string) string {
	return filepath.Join(l.dir, "records", key[:2], key+".json")
}

// labelPath hashes the label: labels hold slashes and colons, and may be
// longer than a file name may be.
func (l *Local) labelPath(label string) string {
	sum := sha256.Sum256([]byte(label))
	return filepath.Join(l.dir, "labels", hex.EncodeToString(sum[:])+".json")
}

// labelPointer is what labels/<sha256 of label>.json holds.
type labelPointer struct {
	Label   string    `json:"label"`
	Key     string    `json:"key"`
	Created time.Time `json:"created"`
}

func (l *Local) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.warnMu.Lock()
	defer l.warnMu.Unlock()
	if l.warned[msg] {
		return
	}
	l.warned[msg] = true
	l.warn("%s", msg)
}

// maxIndexed bounds the records the index keeps: beyond it, those this
// process did not look up are dropped when it saves.
const maxIndexed = 1_000_000

// records is the index of records' summaries, records/index, read once.
func (l *Local) records() *FileIndex {
	l.indexOnce.Do(func() {
		l.index = openFileIndex(filepath.Join(l.dir, "records", "index"), "imgraph-records 1", maxIndexed)
	})
	return l.index
}

// Get returns the records of keys. Each key costs one stat of its record
// file: when the file is as it was when the index last saw it, the answer
// is the summary the index keeps; otherwise the file is read (whole), and
// the index learns it. Files are read getParallelism at a time.
func (l *Local) Get(ctx context.Context, keys []string) (map[string]*Record, error) {
	unique := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, key := range keys {
		if err := CheckKey(key); err != nil {
			return nil, err
		}
		if !seen[key] {
			seen[key] = true
			unique = append(unique, key)
		}
	}
	index := l.records()
	found := make([]*Record, len(unique))
	err := parallel.ForEach(ctx, getParallelism, len(unique), func(i int) error {
		found[i] = l.lookup(index, unique[i])
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The index is only a cache: a failure to save it costs reads next time.
	if err := index.Save(); err != nil {
		l.warnf("%v", err)
	}
	records := make(map[string]*Record, len(unique))
	for i, rec := range found {
		if rec != nil {
			records[unique[i]] = rec
		}
	}
	return records, nil
}

// lookup returns key's record, from the index if it can, or nil.
func (l *Local) lookup(index *FileIndex, key string) *Record {
	path := l.recordPath(key)
	fi, err := os.Lstat(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			l.warnf("cache: ignoring unreadable record %s: %v", path, err)
		}
		return nil
	}
	st, statted := StatOf(fi)
	if statted {
		if summary, ok := index.lookup(key, st); ok {
			if rec, err := DecodeRecord([]byte(summary), key); err == nil {
				return rec
			}
		}
	}
	rec, after, _ := l.readRecord(key)
	if rec != nil && statted && after == st {
		if summary, err := json.Marshal(rec.Summary()); err == nil {
			index.store(key, st, after, string(summary))
		}
	}
	return rec
}

// readRecord returns key's record and what stat said of its file once it
// was read, or nil with exists false if there is no file, or nil with
// exists true (and a warning) if the file cannot be used.
func (l *Local) readRecord(key string) (rec *Record, after FileStat, exists bool) {
	path := l.recordPath(key)
	l.filesRead.Add(1)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, FileStat{}, false
	}
	var data []byte
	var fi fs.FileInfo
	if err == nil {
		data, err = io.ReadAll(f)
		if err == nil {
			fi, err = f.Stat()
		}
		f.Close()
	}
	if err != nil {
		l.warnf("cache: ignoring unreadable record %s: %v", path, err)
		return nil, FileStat{}, true
	}
	rec, err = DecodeRecord(data, key)
	if err != nil {
		l.warnf("cache: ignoring corrupt record %s: %v", path, err)
		return nil, FileStat{}, true
	}
	after, _ = StatOf(fi)
	return rec, after, true
}

// DecodeRecord reads a stored record and checks that it is the record of
// key; every store reads records through it, so they agree on what is
// corrupt.
func DecodeRecord(data []byte, key string) (*Record, error) {
	rec := new(Record)
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, err
	}
	if rec.Key != key {
		return nil, fmt.Errorf("it holds key %q", rec.Key)
	}
	if rec.Label == "" {
		return nil, errors.New("it has no label")
	}
	return rec, nil
}

// Put writes the record, then the label's pointer to it, so a pointer never
// names a record that is not there yet. A zero Created is set to now in the
// stored copy; rec itself is not changed.
func (l *Local) Put(ctx context.Context, rec *Record) error {
	if err := CheckPut(rec); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stored := *rec
	if stored.Created.IsZero() {
		stored.Created = time.Now().UTC()
	}
	// Compact, like every encoding/json output: Inputs comes back equal in
	// meaning, not byte for byte, and records stay small to read in bulk.
	data, err := json.Marshal(&stored)
	if err != nil {
		return fmt.Errorf("cache: encoding record %s: %w", rec.Key, err)
	}
	if err := WriteFileAtomic(l.recordPath(rec.Key), append(data, '\n')); err != nil {
		return fmt.Errorf("cache: writing record %s: %w", rec.Key, err)
	}
	ptr, err := json.Marshal(labelPointer{Label: stored.Label, Key: stored.Key, Created: stored.Created})
	if err != nil {
		return fmt.Errorf("cache: encoding label pointer for %s: %w", rec.Label, err)
	}
	if err := WriteFileAtomic(l.labelPath(rec.Label), append(ptr, '\n')); err != nil {
		return fmt.Errorf("cache: writing label pointer for %s: %w", rec.Label, err)
	}
	return nil
}

// Latest follows label's pointer to its record. Records are by key, so when
// two labels bake to the same key the record's Label is the one put last.
func (l *Local) Latest(ctx context.Context, label string) (*Record, error) {
	if label == "" {
		return nil, errors.New("cache: latest of an empty label")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := l.labelPath(label)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		l.warnf("cache: ignoring unreadable label pointer %s for %s: %v", path, label, err)
		return nil, nil
	}
	var ptr labelPointer
	if err := json.Unmarshal(data, &ptr); err != nil {
		l.warnf("cache: ignoring corrupt label pointer %s for %s: %v", path, label, err)
		return nil, nil
	}
	if ptr.Label != label {
		l.warnf("cache: ignoring corrupt label pointer %s for %s: it holds label %q", path, label, ptr.Label)
		return nil, nil
	}
	if err := CheckKey(ptr.Key); err != nil {
		l.warnf("cache: ignoring corrupt label pointer %s for %s: %v", path, label, err)
		return nil, nil
	}
	rec, _, exists := l.readRecord(ptr.Key)
	if !exists {
		l.warnf("cache: label pointer %s for %s names key %s, which has no record", path, label, ptr.Key)
	}
	return rec, nil
}

// Stat counts the records and labels held and the bytes of every file under
// the cache directory, image trees included.
func (l *Local) Stat(ctx context.Context) (Stats, error) {
	st := Stats{Location: l.dir}
	err := filepath.WalkDir(l.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// Files come and go under a running build; a vanished one is not an error.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		st.Bytes += info.Size()
		name := d.Name()
		switch rel, _ := filepath.Rel(l.dir, filepath.Dir(path)); {
		case filepath.Dir(rel) == "records" && strings.HasSuffix(name, ".json") && CheckKey(strings.TrimSuffix(name, ".json")) == nil:
			st.Records++
		case rel == "labels" && strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, "."):
			st.Labels++
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("cache: stat %s: %w", l.dir, err)
	}
	return st, nil
}
