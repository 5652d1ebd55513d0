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

// fileDigest is the content of a file or directory as a key sees it.
type fileDigest struct {
	Digest string // sha256 of the bytes, or of the tree's canonical listing
	Mode   string // "0755" or "0644" for a file; "dir" for a tree
}

// hashPath hashes the file or tree at path. Workspace files keep only
// their executable bit (what version control keeps), so two checkouts
// with different umasks agree; a root filesystem keeps its full permission
// bits (fullModes), which are part of the image.
func hashPath(path string, fullModes bool) (fileDigest, error) {
	// Open first and stat the open file: one path lookup, not two. Not
	// blocking: opening a named pipe would wait for a writer forever.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fileDigest{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileDigest{}, err
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return fileDigest{}, fmt.Errorf("a %s is neither a file nor a directory", fi.Mode().Type())
	}
	if !fi.IsDir() {
		sum, err := hashReader(f)
		return fileDigest{Digest: sum, Mode: modeString(fi.Mode(), fullModes)}, err
	}
	sum, err := hashTree(path, fullModes)
	return fileDigest{Digest: sum, Mode: "dir"}, err
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

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return hashReader(f)
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
func hashTree(root string, fullModes bool) (string, error) {
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
			sum, err := hashFile(p)
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
