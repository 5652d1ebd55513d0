package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// place puts one host file or directory at p.Dest. It runs inside the
// chroot, so paths (and symlinks) resolve inside the tree.
func place(src *os.File, p Placement) error {
	info, err := src.Stat()
	if err != nil {
		return err
	}
	dest := path.Clean("/" + p.Dest)
	if strings.HasPrefix(dest, "/tmp/") {
		if err := ensureTmp(); err != nil {
			return err
		}
	}
	if info.IsDir() {
		_, statErr := os.Stat(dest)
		if err := os.MkdirAll(dest, os.FileMode(p.DirMode)); err != nil {
			return fmt.Errorf("creating %s: %w", dest, err)
		}
		dst, err := os.Open(dest)
		if err != nil {
			return err
		}
		defer dst.Close()
		if errors.Is(statErr, fs.ErrNotExist) {
			// A new directory takes the source's mode, as with cp -r.
			if err := dst.Chmod(info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
				return err
			}
		}
		tc := &treeCopy{fileMode: p.Mode, followDest: true, warn: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "imgraph: "+format+"\n", args...)
		}}
		return tc.copyDir(src, dst, strings.TrimPrefix(dest, "/"))
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file or a directory", p.Src)
	}
	if p.IntoDir {
		if d, err := os.Stat(dest); err == nil && d.IsDir() {
			dest = path.Join(dest, filepath.Base(p.Src))
		}
	}
	if err := os.MkdirAll(path.Dir(dest), os.FileMode(p.DirMode)); err != nil {
		return fmt.Errorf("creating %s: %w", path.Dir(dest), err)
	}
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	_, err = io.Copy(out, src)
	mode := uint32(info.Mode().Perm())
	if p.Mode >= 0 {
		mode = uint32(p.Mode)
	}
	if err == nil {
		err = unix.Fchmod(int(out.Fd()), mode)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	return nil
}

// ensureTmp creates /tmp, world-writable and sticky, in a tree that lacks
// it, so the parents of files placed there do not get their mode.
func ensureTmp() error {
	if _, err := os.Lstat("/tmp"); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.Mkdir("/tmp", 0o755); err != nil {
		return fmt.Errorf("creating /tmp: %w", err)
	}
	return os.Chmod("/tmp", 0o777|fs.ModeSticky)
}

// scrub removes every path that starts with prefix: the entries of its
// directory whose names start with the rest.
func scrub(prefix string) error {
	if !path.IsAbs(prefix) {
		return fmt.Errorf("scrubbing %q: not an absolute path", prefix)
	}
	dir, name := path.Split(prefix)
	dir = path.Clean(dir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cleaning %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), name) {
			if err := os.RemoveAll(path.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("cleaning %s: %w", dir, err)
			}
		}
	}
	return nil
}
