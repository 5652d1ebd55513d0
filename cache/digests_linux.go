package cache

import (
	"io/fs"
	"syscall"
)

// StatOf is what fi says of a file that a digest depends on; false where
// the file system does not say it.
func StatOf(fi fs.FileInfo) (FileStat, bool) {
	if fi == nil || !fi.Mode().IsRegular() {
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
