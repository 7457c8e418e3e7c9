package staging

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Free is the space left for unprivileged writers on the staging filesystem.
func (s *Staging) Free() (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", s.dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
