package disk

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// statfs reads a volume's size and free space, and its device number.
func statfs(path string) (FSStats, error) {
	var s unix.Statfs_t
	if err := unix.Statfs(path, &s); err != nil {
		return FSStats{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return FSStats{}, fmt.Errorf("stat %s: %w", path, err)
	}
	bs := uint64(s.Bsize)
	return FSStats{
		TotalBytes:  s.Blocks * bs,
		FreeBytes:   s.Bavail * bs,
		UsedBytes:   (s.Blocks - s.Bfree) * bs,
		TotalInodes: s.Files,
		FreeInodes:  s.Ffree,
		Major:       unix.Major(st.Dev),
		Minor:       unix.Minor(st.Dev),
	}, nil
}
