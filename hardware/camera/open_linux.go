package camera

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is returned by OpenRegular for anything but a regular file.
var ErrNotRegular = fmt.Errorf("not a regular file")

// OpenRegular opens a file on a dock for reading without following a final
// symlink and without blocking on a FIFO or device node, then checks on the
// open descriptor (no race with a swap) that it is a regular file.
func OpenRegular(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	// Regular files ignore O_NONBLOCK for reads; clear it anyway so the
	// runtime treats the descriptor as an ordinary blocking file.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
