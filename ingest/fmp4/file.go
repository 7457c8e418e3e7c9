package fmp4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"golang.org/x/sys/unix"

	"custodian/storage/staging"
)

// segmentFile is one open fMP4 file: written append-only, each fragment
// hashed as it is written and fdatasync'ed before the next.
type segmentFile struct {
	f    *os.File
	path string
	hash hash.Hash
	size int64 // bytes written, hashed and synced
	seq  uint32
}

func createSegmentFile(path string, init []byte) (*segmentFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	s := &segmentFile{f: f, path: path, hash: sha256.New()}
	if err := s.write(init); err != nil {
		// No media was written: nothing to keep, and an empty segment in
		// the catalog would only mislead.
		f.Close()
		return nil, errors.Join(err, os.Remove(path))
	}
	if err := staging.SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return s, nil
}

func (s *segmentFile) write(b []byte) error {
	if _, err := s.f.Write(b); err != nil {
		return fmt.Errorf("write segment %s: %w", s.path, err)
	}
	if err := unix.Fdatasync(int(s.f.Fd())); err != nil {
		return fmt.Errorf("segment: %w", &os.PathError{Op: "fdatasync", Path: s.path, Err: err})
	}
	s.hash.Write(b)
	s.size += int64(len(b))
	return nil
}

func (s *segmentFile) writePart(tracks []*fmp4.PartTrack) error {
	s.seq++
	buf := takePartBuffer()
	defer func() { givePartBuffer(buf) }()
	var ok bool
	if buf, ok = appendPart(buf[:0], s.seq, tracks); !ok {
		var large seekablebuffer.Buffer
		if err := (&fmp4.Part{SequenceNumber: s.seq, Tracks: tracks}).Marshal(&large); err != nil {
			return fmt.Errorf("write segment %s: %w", s.path, err)
		}
		buf = large.Bytes()
	}
	return s.write(buf)
}

// partBuffers hold fragments while they are written: rooms write one
// fragment a second each, so a few buffers serve them all instead of one
// fragment-sized buffer kept by every room. Unlike a sync.Pool's, they
// outlive garbage collections, so they are not grown again after each.
var partBuffers = make(chan []byte, 4)

func takePartBuffer() []byte {
	select {
	case b := <-partBuffers:
		return b
	default:
		return nil
	}
}

func givePartBuffer(b []byte) {
	if cap(b) > 8<<20 {
		return // an unusually large fragment: let it go
	}
	select {
	case partBuffers <- b:
	default: // enough are kept
	}
}

// finish syncs and closes the file and returns its hash and size.
func (s *segmentFile) finish() (sha string, size int64, err error) {
	err = s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("close segment %s: %w", s.path, err)
	}
	return hex.EncodeToString(s.hash.Sum(nil)), s.size, nil
}

// abandon closes the file after a write error; the bytes written so far stay
// for recovery, which cuts them back to the last complete fragment.
func (s *segmentFile) abandon() { s.f.Close() }
