package local

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/imgraph/imgraph/internal/sandbox"
)

// fileID is an inode: writeTar archives a file with several links once.
type fileID struct{ dev, ino uint64 }

// Export writes a baked image out: format "tar" writes a tar archive of
// its whole tree to the file out ("-" for standard output); "dir" writes
// the tree to the directory out, which must not exist or be empty; "oci"
// adds it, as an image of its chain's layers, to the OCI image layout out;
// "docker-archive" writes that image as the tar docker load reads.
func (b *Baker) Export(ctx context.Context, id string, format string, out string) (err error) {
	if err := checkID(id); err != nil {
		return err
	}
	layers, err := b.layerDirs(id)
	var broken *brokenChainError
	if errors.As(err, &broken) {
		return &BadInputError{Msg: fmt.Sprintf("image %s is not baked on this machine (%v)", id, err)}
	}
	if err != nil {
		return err
	}
	if format != "tar" && format != "dir" && format != "oci" && format != "docker-archive" {
		return &BadInputError{Msg: fmt.Sprintf("unknown export format %q", format), Hint: `the formats are "tar", "dir", "oci" and "docker-archive"`}
	}
	// The export's own directory, beside the cache's images: it holds the
	// layers while they are read (see hold), and whatever is written on
	// the way.
	scratch := b.store.Path("images", ".tmp-export-"+randomHex())
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return fmt.Errorf("local: export: %w", err)
	}
	defer func() {
		if rerr := sandbox.RemoveTree(scratch); rerr != nil && err == nil {
			err = fmt.Errorf("local: export: %w", rerr)
		}
	}()
	if err := b.hold(scratch, layers); err != nil {
		return err
	}
	switch format {
	case "tar":
		return b.exportTar(ctx, layers, scratch, out)
	case "dir":
		return b.exportDir(ctx, layers, out)
	}
	return b.exportOCI(ctx, id, layers, scratch, format, out)
}

func (b *Baker) exportDir(ctx context.Context, layers []string, out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, perr := os.Stat(filepath.Dir(out)); perr != nil {
			return &BadInputError{Msg: fmt.Sprintf("export: cannot make %s: %v", out, pathErr(perr))}
		}
	case err != nil:
		return &BadInputError{Msg: fmt.Sprintf("export: %s: %v", out, pathErr(err))}
	case len(entries) > 0:
		return &BadInputError{Msg: fmt.Sprintf("export: %s is not empty", out)}
	default:
		if err := os.Remove(out); err != nil {
			return fmt.Errorf("local: export: %w", err)
		}
	}
	if err := b.flatten(ctx, layers, out); err != nil {
		return fmt.Errorf("local: export: %w", err)
	}
	return nil
}

// exportTar writes the tar file beside out and renames it into place, so
// out is the whole archive or, on failure, what it was before.
func (b *Baker) exportTar(ctx context.Context, layers []string, scratch, out string) (err error) {
	if out == "-" {
		return b.writeTarTo(ctx, layers, scratch, os.Stdout)
	}
	if info, err := os.Stat(out); err == nil && info.IsDir() {
		return &BadInputError{Msg: fmt.Sprintf("export: %s is a directory", out), Hint: "name a file to write the tar to, or use --format dir"}
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return &BadInputError{Msg: fmt.Sprintf("export: cannot write %s: %v", out, pathErr(err))}
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("local: export: %w", cerr)
		}
		if err == nil {
			err = os.Chmod(f.Name(), 0o644)
		}
		if err == nil {
			err = os.Rename(f.Name(), out)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	return b.writeTarTo(ctx, layers, scratch, f)
}

// writeTarTo archives the image whose layers are given, its own first: a
// whole tree as it is, a chain flattened first into scratch.
func (b *Baker) writeTarTo(ctx context.Context, layers []string, scratch string, w io.Writer) error {
	root := layers[0]
	if len(layers) > 1 {
		root = filepath.Join(scratch, "tree")
		if err := b.flatten(ctx, layers, root); err != nil {
			return fmt.Errorf("local: export: %w", err)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := writeTar(ctx, root, bw); err != nil {
		return fmt.Errorf("local: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("local: export: %w", err)
	}
	return nil
}

// pathErr is why a path could not be used, without the path.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// writeTar archives the tree under root in name order, with the ids and
// modes it holds (the image's, not names looked up on this host), hard
// links as links, extended attributes, and times to the second.
func writeTar(ctx context.Context, root string, w io.Writer) error {
	return archive(ctx, root, w, false)
}

// archive is writeTar; with layer, root is a layer, whose whiteouts and
// opaque directories are written as an OCI layer's (.wh.<name> and
// .wh..wh..opq).
func archive(ctx context.Context, root string, w io.Writer, layer bool) error {
	tw := tar.NewWriter(w)
	links := map[fileID]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		h := &tar.Header{
			Name:    filepath.ToSlash(rel),
			Mode:    int64(st.Mode & 0o7777),
			Uid:     int(st.Uid),
			Gid:     int(st.Gid),
			ModTime: time.Unix(st.Mtim.Sec, 0),
		}
		var body *os.File
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		case unix.S_IFREG:
			id := fileID{uint64(st.Dev), st.Ino}
			if first, ok := links[id]; ok && st.Nlink > 1 {
				h.Typeflag = tar.TypeLink
				h.Linkname = first
				break
			}
			if st.Nlink > 1 {
				links[id] = h.Name
			}
			h.Typeflag = tar.TypeReg
			h.Size = st.Size
			if body, err = os.Open(p); err != nil {
				return err
			}
			defer body.Close()
		case unix.S_IFLNK:
			h.Typeflag = tar.TypeSymlink
			if h.Linkname, err = os.Readlink(p); err != nil {
				return err
			}
		case unix.S_IFCHR, unix.S_IFBLK:
			if layer && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
				h.Typeflag = tar.TypeReg
				h.Name = path.Join(path.Dir(h.Name), ociWhiteout+path.Base(h.Name))
				break
			}
			h.Typeflag = tar.TypeChar
			if st.Mode&unix.S_IFMT == unix.S_IFBLK {
				h.Typeflag = tar.TypeBlock
			}
			h.Devmajor = int64(unix.Major(uint64(st.Rdev)))
			h.Devminor = int64(unix.Minor(uint64(st.Rdev)))
		case unix.S_IFIFO:
			h.Typeflag = tar.TypeFifo
		default:
			return nil // sockets do not outlive their server
		}
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeDir {
			if h.PAXRecords, err = xattrRecords(p); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if layer && h.Typeflag == tar.TypeDir && sandbox.IsOpaque(p) {
			opq := &tar.Header{Typeflag: tar.TypeReg, Name: h.Name + ociOpaque, Mode: 0o644, ModTime: h.ModTime}
			if err := tw.WriteHeader(opq); err != nil {
				return err
			}
		}
		if body != nil {
			if n, err := io.Copy(tw, body); err != nil {
				return err
			} else if n != h.Size {
				return fmt.Errorf("%s changed size while being archived", rel)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// xattrRecords are the extended attributes of path as tar keeps them
// (SCHILY.xattr.<name>), but overlayfs's own marks; nil when it has none.
func xattrRecords(path string) (map[string]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if errors.Is(err, unix.ENOTSUP) || err == nil && size == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	var records map[string]string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		vsize, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			continue // gone meanwhile
		}
		value := make([]byte, vsize)
		vn, err := unix.Lgetxattr(path, name, value)
		if err != nil {
			continue
		}
		if records == nil {
			records = map[string]string{}
		}
		records["SCHILY.xattr."+name] = string(value[:vn])
	}
	return records, nil
}
