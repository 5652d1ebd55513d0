package sandbox

import (
	"golang.org/x/sys/unix"
)

// The marks overlayfs leaves in an upper directory: a whiteout (a
// character device 0/0) hides a lower entry, and an opaque directory (an
// attribute) hides every lower entry below it. In a user namespace
// overlayfs keeps its attributes in the user.* namespace.
var opaqueAttrs = []string{"trusted.overlay.opaque", "user.overlay.opaque"}

// overlayAttr reports whether an extended attribute is overlayfs's own
// mark, which a copy of a layer's content leaves behind.
func overlayAttr(name string) bool {
	const trusted, user = "trusted.overlay.", "user.overlay."
	return len(name) > len(trusted) && name[:len(trusted)] == trusted ||
		len(name) > len(user) && name[:len(user)] == user
}

// IsWhiteout reports whether path is a whiteout.
func IsWhiteout(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && isWhiteout(&st)
}

func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// IsOpaque reports whether the directory path hides its lower layers.
func IsOpaque(path string) bool {
	buf := make([]byte, 4)
	for _, name := range opaqueAttrs {
		if n, err := unix.Lgetxattr(path, name, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}
