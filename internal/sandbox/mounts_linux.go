package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// devices are the host's character devices a command may expect in /dev.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// mountSystem mounts /proc and a /dev holding only harmless devices.
func mountSystem(root string) error {
	for _, dir := range []string{"proc", "dev"} {
		if err := mountPoint(root, dir); err != nil {
			return err
		}
	}
	proc := filepath.Join(root, "proc")
	if err := unix.Mount("proc", proc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	dev := filepath.Join(root, "dev")
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=755,size=1m"); err != nil {
		return fmt.Errorf("mounting /dev: %w", err)
	}
	// The tmpfs is new and empty: these paths are ours, not the image's.
	for _, name := range devices {
		if _, err := os.Stat("/dev/" + name); err != nil {
			continue // a minimal container may lack /dev/tty
		}
		target := filepath.Join(dev, name)
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("creating /dev/%s: %w", name, err)
		}
		f.Close()
		if err := unix.Mount("/dev/"+name, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mounting /dev/%s: %w", name, err)
		}
	}
	links := [][2]string{
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil {
			return fmt.Errorf("creating /dev/%s: %w", l[1], err)
		}
	}
	for _, dir := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join(dev, dir), 0o755); err != nil {
			return fmt.Errorf("creating /dev/%s: %w", dir, err)
		}
	}
	return os.Chmod(filepath.Join(dev, "shm"), 0o1777)
}

// mountOverlay mounts ov at root. Directory renames copy rather than
// redirect, and files are never linked to an index, so an upper directory
// is a plain tree of changes (with whiteouts and opaque marks) that any
// reader can apply on its layers.
func mountOverlay(root string, ov *Overlay) error {
	opts := OverlayOptions(ov)
	if len(opts) > unix.Getpagesize()-1 {
		return fmt.Errorf("mounting the image's layers: %d layers make mount options longer than a page", len(ov.Lower))
	}
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting the image's %d layers: %w", len(ov.Lower), err)
	}
	return nil
}

// OverlayOptions are the mount options of ov.
func OverlayOptions(ov *Overlay) string {
	opts := "lowerdir=" + strings.Join(escapeAll(ov.Lower), ":") + ",upperdir=" + escape(ov.Upper) +
		",workdir=" + escape(ov.Work) + ",index=off,metacopy=off"
	if ov.UserXattr {
		// Never redirects in a user namespace, and refuses to be told so.
		return opts + ",userxattr"
	}
	return opts + ",redirect_dir=off"
}

// escape escapes what mount options give a meaning to in a path.
func escape(p string) string {
	return strings.NewReplacer(`\`, `\\`, ":", `\:`, ",", `\,`).Replace(p)
}

func escapeAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = escape(p)
	}
	return out
}

// mountPoint makes sure root/name is a real directory: mount(2) follows
// symlinks, and an image's /proc must not point it at the host.
func mountPoint(root, name string) error {
	p := filepath.Join(root, name)
	info, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("creating /%s in the image: %w", name, err)
		}
		return nil
	case err != nil:
		return err
	case !info.IsDir():
		return fmt.Errorf("the image's /%s is not a directory (%s)", name, info.Mode().Type())
	}
	return nil
}
