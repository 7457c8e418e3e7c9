package dock

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"custodian/storage/staging"
)

const (
	// resumeMin: smaller files are copied again from the start after an
	// interruption; it costs less than proving where to continue.
	resumeMin = 16 << 20
	// resumeWindow is how much of a file's head and tail its identity
	// hashes: a camera file is the same file, for resuming its copy, when
	// its size, time, first and last MiB are the same.
	resumeWindow = 1 << 20
)

// resumeOf names c's copy for staging and proves which file it is, reading
// its first and last MiB from src and leaving src at its start.
func (d *Dock) resumeOf(c candidate, src io.ReadSeeker) (staging.Resume, error) {
	size := c.info.Size()
	h := sha256.New()
	var hdr [16]byte
	binary.BigEndian.PutUint64(hdr[:8], uint64(size))
	binary.BigEndian.PutUint64(hdr[8:], uint64(c.info.ModTime().UnixNano()))
	h.Write(hdr[:])
	for _, off := range []int64{0, max(0, size-resumeWindow)} {
		if _, err := src.Seek(off, io.SeekStart); err != nil {
			return staging.Resume{}, err
		}
		if _, err := io.CopyN(h, src, min(resumeWindow, size)); err != nil {
			return staging.Resume{}, fmt.Errorf("read for resume identity: %w", err)
		}
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return staging.Resume{}, err
	}
	return staging.Resume{Key: d.cfg.ID + "\x00" + c.rel, Identity: h.Sum(nil)}, nil
}
