package cache

import (
	"io/fs"
	"syscall"
)

// StatOf is what fi says of a file or directory that a value worked out
// from it depends on; false for anything else, and where the file system
// does not say it.
func StatOf(fi fs.FileInfo) (FileStat, bool) {
	if fi == nil || !fi.Mode().IsRegular() && !fi.IsDir() {
		return FileStat{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return FileStat{}, false
	}
	return FileStat{
		Size:  st.Size,
		MTime: st.Mtim.Nano(),
		CTime: st.Ctim.Nano(),
		Ino:   st.Ino,
		Dev:   st.Dev,
		Mode:  st.Mode,
	}, true
}
