package sandbox

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// extractTarball unpacks a root filesystem (.tar or .tar.gz) into "/". It
// runs inside the sandbox's chroot: whatever names, "..", or symlinks the
// archive holds, every path resolves inside the new image.
func extractTarball(f *os.File, name string, owners bool) error {
	r, err := decompress(f)
	if err != nil {
		return fmt.Errorf("rootfs %s: %w", name, err)
	}
	tr := tar.NewReader(r)
	type dirTime struct {
		path  string
		mtime time.Time
	}
	var dirs []dirTime
	entries := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("rootfs %s: not a readable tar archive (.tar or .tar.gz): %w", name, err)
		}
		entries++
		p := path.Clean("/" + h.Name)
		if err := extractEntry(tr, h, p, owners); err != nil {
			return fmt.Errorf("rootfs %s: %s: %w", name, h.Name, err)
		}
		if h.Typeflag == tar.TypeDir {
			dirs = append(dirs, dirTime{p, h.ModTime})
		}
	}
	if entries == 0 {
		return fmt.Errorf("rootfs %s: the archive is empty", name)
	}
	// Directory times last: every entry written into a directory changed it.
	for _, d := range slices.Backward(dirs) {
		if err := setMtime(d.path, d.mtime); err != nil {
			return fmt.Errorf("rootfs %s: %s: %w", name, d.path, err)
		}
	}
	return nil
}

// decompress sees through gzip, recognised by its magic number rather than
// by the file's name.
func decompress(f *os.File) (io.Reader, error) {
	br := bufio.NewReaderSize(f, 1<<16)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

func extractEntry(tr *tar.Reader, h *tar.Header, p string, owners bool) error {
	if p != "/" {
		if err := os.MkdirAll(path.Dir(p), 0o755); err != nil {
			return err
		}
	}
	perm := uint32(h.Mode) & 0o7777
	switch h.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if info, err := os.Lstat(p); err != nil {
			return err
		} else if !info.IsDir() {
			if err := os.Remove(p); err != nil {
				return err
			}
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
		}
	case tar.TypeReg:
		if err := removeNonDir(p); err != nil {
			return err
		}
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := removeNonDir(p); err != nil {
			return err
		}
		if err := os.Symlink(h.Linkname, p); err != nil {
			return err
		}
	case tar.TypeLink:
		if err := removeNonDir(p); err != nil {
			return err
		}
		if err := os.Link(path.Clean("/"+h.Linkname), p); err != nil {
			return err
		}
		return nil // the link shares its target's owner, mode and times
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := removeNonDir(p); err != nil {
			return err
		}
		mode := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[h.Typeflag]
		dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
		if err := unix.Mknod(p, mode|perm, int(dev)); err != nil {
			if errors.Is(err, unix.EPERM) {
				fmt.Fprintf(os.Stderr, "imgraph: skipped device node %s: only root can create it\n", p)
				return nil
			}
			return err
		}
	default:
		// Extended headers are read by tar.Reader; anything else (sparse
		// files of old GNU tars, sockets) has no place in a root filesystem.
		fmt.Fprintf(os.Stderr, "imgraph: skipped %s: tar entry type %q\n", p, h.Typeflag)
		return nil
	}
	if owners {
		if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
			return err
		}
	}
	if h.Typeflag != tar.TypeSymlink {
		if err := unix.Fchmodat(unix.AT_FDCWD, p, perm, 0); err != nil {
			return err
		}
	}
	return setMtime(p, h.ModTime)
}

// setMtime sets p's access and modification times, leaving a time the
// archive does not record as it is.
func setMtime(p string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// removeNonDir clears the way for an entry that replaces an earlier one.
func removeNonDir(p string) error {
	info, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	return os.Remove(p)
}
