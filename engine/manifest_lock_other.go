//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package engine

// lockManifest is a no-op where there is no flock(2): builds into one
// output directory at once may lose each other's manifest entries.
func lockManifest(string, func(format string, args ...any)) (unlock func()) { return func() {} }
