package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// treeCopy copies a directory tree entry by entry through directory file
// descriptors: a symlink is recreated, never followed, so the copy can
// neither read nor write outside the two trees.
type treeCopy struct {
	ctx context.Context // checked between entries; nil on the sandbox side

	owners bool // copy uid and gid (needs real root)
	times  bool // copy modification times
	// fileMode, when >= 0, is the permission bits of every regular file.
	fileMode int64
	// followDest lets an existing destination directory be reached
	// through a symlink: only inside the sandbox's chroot, where it
	// cannot lead out of the image.
	followDest bool
	// xattrs copies extended attributes (but overlayfs's own marks).
	xattrs bool
	// layer applies the source as an overlay layer on the existing
	// destination: a whiteout removes what it names, an opaque directory
	// replaces the one below, and every other entry replaces what is there.
	layer bool
	// links, when set, keeps hard links linked: the first copy of each
	// inode, by its path below root.
	links map[fileID]string
	root  *os.File

	warn func(format string, args ...any)
}

type fileID struct{ dev, ino uint64 }

// copyTree copies the directory src to dst, which must not exist yet.
func (tc *treeCopy) copyTree(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("copying %s: not a directory", src)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	s, err := os.Open(src)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := openDir(unix.AT_FDCWD, dst, false)
	if err != nil {
		return fmt.Errorf("copying to %s: %w", dst, err)
	}
	defer d.Close()
	tc.root = d
	if tc.links == nil {
		tc.links = map[fileID]string{}
	}
	if err := tc.copyDir(s, d, ""); err != nil {
		return err
	}
	if err := tc.setMeta(int(d.Fd()), &st, false); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := tc.copyXattrs(int(s.Fd()), int(d.Fd()), "/"); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if tc.times {
		return tc.setTimes(unix.AT_FDCWD, dst, &st)
	}
	return nil
}

// applyLayer applies the layer src onto the existing directory dst (see
// treeCopy.layer); the layer's top directory gives dst its metadata, as
// an overlay's upper directory gives the merged tree its own.
func (tc *treeCopy) applyLayer(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return fmt.Errorf("applying %s: %w", src, err)
	}
	s, err := openDir(unix.AT_FDCWD, src, false)
	if err != nil {
		return fmt.Errorf("applying %s: %w", src, err)
	}
	defer s.Close()
	d, err := openDir(unix.AT_FDCWD, dst, false)
	if err != nil {
		return fmt.Errorf("applying to %s: %w", dst, err)
	}
	defer d.Close()
	tc.root = d
	tc.links = map[fileID]string{}
	if err := tc.copyDir(s, d, ""); err != nil {
		return err
	}
	if err := tc.setMeta(int(d.Fd()), &st, false); err != nil {
		return fmt.Errorf("applying %s: %w", src, err)
	}
	if err := tc.copyXattrs(int(s.Fd()), int(d.Fd()), "/"); err != nil {
		return fmt.Errorf("applying %s: %w", src, err)
	}
	if tc.times {
		return tc.setTimes(unix.AT_FDCWD, dst, &st)
	}
	return nil
}

// copyDir copies the entries of src into dst, in name order.
func (tc *treeCopy) copyDir(src, dst *os.File, rel string) error {
	names, err := src.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src.Name(), err)
	}
	sort.Strings(names)
	for _, name := range names {
		if tc.ctx != nil {
			if err := tc.ctx.Err(); err != nil {
				return err
			}
		}
		if err := tc.copyEntry(src, dst, name, path.Join(rel, name)); err != nil {
			return err
		}
	}
	return nil
}

func (tc *treeCopy) copyEntry(src, dst *os.File, name, rel string) error {
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("copying %s: %w", rel, err)
	}
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("copying %s: %w", rel, err)
	}
	if tc.layer {
		// What the layer's entry replaces goes first: a whiteout is only
		// that, and a directory is merged with the one below unless it is
		// opaque or stands where something else stood.
		var dst unix.Stat_t
		err := unix.Fstatat(dfd, name, &dst, unix.AT_SYMLINK_NOFOLLOW)
		switch {
		case errors.Is(err, unix.ENOENT):
			if isWhiteout(&st) {
				return nil
			}
		case err != nil:
			return wrap(err)
		case isWhiteout(&st) || st.Mode&unix.S_IFMT != unix.S_IFDIR || dst.Mode&unix.S_IFMT != unix.S_IFDIR || opaqueAt(sfd, name):
			if err := removeAt(dfd, name); err != nil {
				return wrap(err)
			}
			if isWhiteout(&st) {
				return nil
			}
		}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dfd, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return wrap(err)
		}
		s, err := openDir(sfd, name, false)
		if err != nil {
			return wrap(err)
		}
		defer s.Close()
		d, err := openDir(dfd, name, tc.followDest)
		if err != nil {
			return wrap(err)
		}
		defer d.Close()
		if err := tc.copyDir(s, d, rel); err != nil {
			return err
		}
		if err := tc.setMeta(int(d.Fd()), &st, false); err != nil {
			return wrap(err)
		}
		if err := tc.copyXattrs(int(s.Fd()), int(d.Fd()), rel); err != nil {
			return wrap(err)
		}
	case unix.S_IFREG:
		if err := tc.copyFile(sfd, dfd, name, rel, &st); err != nil {
			return wrap(err)
		}
	case unix.S_IFLNK:
		target, err := readlinkat(sfd, name)
		if err != nil {
			return wrap(err)
		}
		err = replace(dfd, name, func() error { return unix.Symlinkat(target, dfd, name) })
		if err != nil {
			return wrap(err)
		}
		if tc.owners {
			if err := unix.Fchownat(dfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return wrap(err)
			}
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		err := replace(dfd, name, func() error { return unix.Mknodat(dfd, name, st.Mode, int(st.Rdev)) })
		if errors.Is(err, unix.EPERM) {
			tc.warnf("skipped device node /%s: only root can create it", rel)
			return nil
		}
		if err != nil {
			return wrap(err)
		}
		if tc.owners {
			if err := unix.Fchownat(dfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return wrap(err)
			}
		}
		if err := unix.Fchmodat(dfd, name, st.Mode&0o7777, 0); err != nil {
			return wrap(err)
		}
	default:
		tc.warnf("skipped socket /%s", rel)
		return nil
	}
	if tc.times {
		return wrap(tc.setTimes(dfd, name, &st))
	}
	return nil
}

func (tc *treeCopy) copyFile(sfd, dfd int, name, rel string, st *unix.Stat_t) error {
	id := fileID{uint64(st.Dev), st.Ino}
	if tc.links != nil && st.Nlink > 1 {
		if first, ok := tc.links[id]; ok {
			err := replace(dfd, name, func() error { return unix.Linkat(int(tc.root.Fd()), first, dfd, name, 0) })
			if err == nil {
				return nil
			}
			// A link that cannot be made (a file system limit) becomes a copy.
		}
	}
	in, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	inFile := os.NewFile(uintptr(in), name)
	defer inFile.Close()
	var out int
	err = replace(dfd, name, func() error {
		var err error
		out, err = unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return err
	}
	outFile := os.NewFile(uintptr(out), name)
	// A reflink shares the blocks on file systems that can (btrfs, xfs);
	// elsewhere the copy is a plain one.
	if unix.IoctlFileClone(out, in) != nil {
		if _, err := io.Copy(outFile, inFile); err != nil {
			outFile.Close()
			return err
		}
	}
	err = tc.setMeta(out, st, true)
	if err == nil {
		// After chown, which clears file capabilities.
		err = tc.copyXattrs(in, out, rel)
	}
	if cerr := outFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if tc.links != nil && st.Nlink > 1 {
		tc.links[id] = rel
	}
	return nil
}

// setMeta sets ownership, then the mode: chown clears setuid and setgid.
func (tc *treeCopy) setMeta(fd int, st *unix.Stat_t, regular bool) error {
	if tc.owners {
		if err := unix.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	mode := st.Mode & 0o7777
	if regular && tc.fileMode >= 0 {
		mode = uint32(tc.fileMode)
	}
	return unix.Fchmod(fd, mode)
}

// copyXattrs copies the extended attributes of the open file in to out,
// but overlayfs's own marks. One the destination refuses (a trusted.*
// attribute without root, a file system without them) is skipped and
// told to warn.
func (tc *treeCopy) copyXattrs(in, out int, rel string) error {
	if !tc.xattrs {
		return nil
	}
	names, err := listXattrs(in)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil
		}
		return err
	}
	for _, name := range names {
		if overlayAttr(name) {
			continue
		}
		value, err := getXattr(in, name)
		if errors.Is(err, unix.ENODATA) {
			continue // gone meanwhile
		}
		if err != nil {
			return err
		}
		if err := unix.Fsetxattr(out, name, value, 0); err != nil {
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) {
				tc.warnf("skipped attribute %s of /%s: %v", name, rel, err)
				continue
			}
			return fmt.Errorf("setting attribute %s: %w", name, err)
		}
	}
	return nil
}

func listXattrs(fd int) ([]string, error) {
	size, err := unix.Flistxattr(fd, nil)
	if err != nil || size == 0 {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := unix.Flistxattr(fd, buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

func getXattr(fd int, name string) ([]byte, error) {
	size, err := unix.Fgetxattr(fd, name, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := unix.Fgetxattr(fd, name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// opaqueAt reports whether the directory dirfd/name is an opaque one of
// an overlay's upper directory.
func opaqueAt(dirfd int, name string) bool {
	d, err := openDir(dirfd, name, false)
	if err != nil {
		return false
	}
	defer d.Close()
	buf := make([]byte, 4)
	for _, attr := range opaqueAttrs {
		if n, err := unix.Fgetxattr(int(d.Fd()), attr, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// removeAt removes dirfd/name and, for a directory, everything below it,
// through descriptors: a symlink inside is removed, never followed.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	d, err := openDir(dirfd, name, false)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAt(int(d.Fd()), n); err != nil {
				break
			}
		}
	}
	d.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

func (tc *treeCopy) setTimes(dirfd int, name string, st *unix.Stat_t) error {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(dirfd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func (tc *treeCopy) warnf(format string, args ...any) {
	if tc.warn != nil {
		tc.warn(format, args...)
	}
}

// replace runs create; if something that is not a directory is in the way
// (a file an earlier step or the parent left), it is removed and create
// runs again.
func replace(dfd int, name string, create func() error) error {
	err := create()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("%s is a directory", name)
	}
	if err := unix.Unlinkat(dfd, name, 0); err != nil {
		return err
	}
	return create()
}

// openDir opens dirfd/name as a directory; unless follow, a symlink there
// is an error rather than a way out.
func openDir(dirfd int, name string, follow bool) (*os.File, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}
