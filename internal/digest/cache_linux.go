package digest

import (
	"os"

	"golang.org/x/sys/unix"
)

// DropCache asks the kernel to forget the file's clean cached pages, so the
// next read comes from the device. Dirty pages are not dropped: callers fsync
// first. Advice is best effort; a failure only means a warmer re-read.
func DropCache(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
