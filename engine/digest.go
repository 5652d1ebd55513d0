package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
)

// DigestCache remembers what files held, by what stat says of them, so
// that a file that has not changed is not read again (cache.Digests is
// one).
type DigestCache interface {
	// Lookup returns the sha256 of the file at path, which stat says fi
	// of, if it is known and can be trusted.
	Lookup(path string, fi fs.FileInfo) (string, bool)
	// Store records the sha256 of the file at path, read between two
	// stats that said before and after of it.
	Store(path string, before, after fs.FileInfo, digest string)
}

// noDigests is the DigestCache of a build that keeps none.
type noDigests struct{}

func (noDigests) Lookup(string, fs.FileInfo) (string, bool)      { return "", false }
func (noDigests) Store(string, fs.FileInfo, fs.FileInfo, string) {}

// fileDigest is the content of a file or directory as a key sees it.
type fileDigest struct {
	Digest string // sha256 of the bytes, or of the tree's canonical listing
	Mode   string // "0755" or "0644" for a file; "dir" for a tree
}

// hashPath hashes the file or tree at path, asking dc first for each
// regular file. Workspace files keep only their executable bit (what
// version control keeps), so two checkouts with different umasks agree; a
// root filesystem keeps its full permission bits (fullModes), which are
// part of the image.
func hashPath(path string, fullModes bool, dc DigestCache) (fileDigest, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileDigest{}, err
	}
	switch {
	case fi.IsDir():
		sum, err := hashTree(path, fullModes, dc)
		return fileDigest{Digest: sum, Mode: "dir"}, err
	case !fi.Mode().IsRegular():
		return fileDigest{}, fmt.Errorf("a %s is neither a file nor a directory", fi.Mode().Type())
	}
	sum, err := hashRegular(path, fi, dc)
	return fileDigest{Digest: sum, Mode: modeString(fi.Mode(), fullModes)}, err
}

// hashRegular hashes the regular file at path, which stat said fi of:
// from dc when it knows the file as it is, else by reading it (and
// telling dc).
func hashRegular(path string, fi fs.FileInfo, dc DigestCache) (string, error) {
	if sum, ok := dc.Lookup(path, fi); ok {
		return sum, nil
	}
	// Not blocking: should path have become a named pipe since the stat,
	// opening it would wait for a writer forever.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !before.Mode().IsRegular() {
		return "", fmt.Errorf("a %s is neither a file nor a directory", before.Mode().Type())
	}
	sum, err := hashReader(f)
	if err != nil {
		return "", err
	}
	if after, err := f.Stat(); err == nil {
		dc.Store(path, before, after, sum)
	}
	return sum, nil
}

func modeString(m fs.FileMode, full bool) string {
	if full {
		perm := uint32(m.Perm())
		if m&fs.ModeSetuid != 0 {
			perm |= 0o4000
		}
		if m&fs.ModeSetgid != 0 {
			perm |= 0o2000
		}
		if m&fs.ModeSticky != 0 {
			perm |= 0o1000
		}
		return fmt.Sprintf("%04o", perm)
	}
	if m.Perm()&0o111 != 0 {
		return "0755"
	}
	return "0644"
}

// hashBuffers lend hashReader its buffer: io.Copy would make a new 32 KiB
// one per file (an *os.File's WriteTo does), which for thousands of small
// scripts is most of the garbage a key computation makes.
var hashBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func hashReader(r io.Reader) (string, error) {
	buf := hashBuffers.Get().(*[32 << 10]byte)
	defer hashBuffers.Put(buf)
	h := sha256.New()
	for {
		n, err := r.Read(buf[:])
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashTree hashes a directory as the sorted list of its entries: path,
// type, mode, and the content or link target of each.
func hashTree(root string, fullModes bool, dc DigestCache) (string, error) {
	type entry struct{ rel, line string }
	var entries []entry
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		fi, err := de.Info()
		if err != nil {
			return err
		}
		mode := modeString(fi.Mode(), fullModes)
		switch {
		case de.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			entries = append(entries, entry{rel, fmt.Sprintf("l %q %q", rel, target)})
		case de.IsDir():
			entries = append(entries, entry{rel, fmt.Sprintf("d %q %s", rel, mode)})
		case de.Type().IsRegular():
			sum, err := hashRegular(p, fi, dc)
			if err != nil {
				return err
			}
			entries = append(entries, entry{rel, fmt.Sprintf("f %q %s %s", rel, mode, sum)})
		default:
			// Device nodes, sockets and pipes are made by the baker, not sent.
			entries = append(entries, entry{rel, fmt.Sprintf("s %q %s", rel, fi.Mode().Type())})
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	h := sha256.New()
	for _, e := range entries {
		io.WriteString(h, e.line)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
