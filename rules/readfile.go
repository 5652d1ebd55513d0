package rules

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ReadFile reads a file the user gave imgraph (an IMAGES.star, a .star
// file, the lock file), refusing anything but a regular file: reading a
// named pipe or a device would wait, or read, for ever.
func ReadFile(path string) ([]byte, error) {
	// Not blocking: opening a named pipe would wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("is a %s, not a file", kindOf(info.Mode()))}
	}
	// Sized by the stat: io.ReadAll would grow its buffer a few times.
	buf := bytes.NewBuffer(make([]byte, 0, info.Size()+bytes.MinRead))
	_, err = buf.ReadFrom(f)
	return buf.Bytes(), err
}

// kindOf names what a file that is not a regular file is.
func kindOf(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "directory"
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeCharDevice != 0:
		return "character device"
	case mode&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
