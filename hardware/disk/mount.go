package disk

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoMarker says a volume's mount marker is missing.
var ErrNoMarker = errors.New("mount marker missing")

// CheckMarker returns an error wrapping ErrNoMarker unless the marker file
// exists. custodian refuses to start, and pauses ingest, without it.
func CheckMarker(path string) error {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w (is the data disk mounted? create the file on the mounted disk)", path, ErrNoMarker)
		}
		return fmt.Errorf("check mount marker %s: %w", path, err)
	}
	return nil
}

type mount struct {
	point, fsType, source string
}

// findMount returns the mount that holds path: the longest mount point that
// is path or one of its parents. Later mounts over the same point win.
func findMount(mountinfo, path string) (mount, bool) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return mount{}, false
	}
	defer f.Close()
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	path = filepath.Clean(path)
	var best mount
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		point := unescapeMount(fields[4])
		if !within(path, point) || found && len(point) < len(best.point) {
			continue
		}
		best, found = mount{point: point, fsType: tail[0], source: unescapeMount(tail[1])}, true
	}
	return best, found
}

func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
