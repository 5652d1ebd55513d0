package cache

import "path/filepath"

// maxDigests bounds the digests kept: beyond it, those this process did
// not use are dropped when it saves.
const maxDigests = 500_000

// Digests opens the digest cache kept in the cache directory: the sha256
// of the files keys are computed from, by each file's path. A missing or
// unreadable one is empty: it is only a cache.
func (c *Local) Digests() *FileIndex {
	return openFileIndex(filepath.Join(c.dir, "digests"), "imgraph-digests 2", maxDigests)
}

// Index opens the index kept in the cache directory as name, for a
// component that works out a value from many files (the local platform
// remembers which images are whole).
func (c *Local) Index(name string) *FileIndex {
	return openFileIndex(c.Path(name), "imgraph-index 1 "+name, maxDigests)
}
