package storage

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dropCache asks the kernel to forget the file's clean cached pages, so the
// next read comes from the device. Dirty pages are not dropped: callers fsync
// first. Advice is best effort; a failure only means a warmer re-read.
func dropCache(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// Free is the space left for unprivileged writers on the staging filesystem.
func (s *Staging) Free() (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", s.dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
