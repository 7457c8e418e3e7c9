package staging

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
)

// resumeState is what a resumable copy records at a checkpoint: how far it
// got and the hash of those bytes, for a source of this size and identity.
// Offset never exceeds the bytes fsynced to the partial.
type resumeState struct {
	Size     int64
	Offset   int64
	Identity []byte
	Digest   []byte // the sha256 state, encoding.BinaryMarshaler
}

// The state file, version 1, big-endian:
//
//	magic "CSRS" | version 1 | size u64 | offset u64 |
//	identity length u16 | identity | digest length u16 | digest |
//	sha256 of everything before it
//
// The checksum turns a torn or damaged file into "start from zero": a state
// file is never half trusted.
const (
	resumeMagic   = "CSRS"
	resumeVersion = 1
	// MaxIdentity bounds Resume.Identity: a source's size, mtime and a hash
	// or two fit many times over.
	MaxIdentity = 1024
	// maxDigest bounds the hash state (108 bytes for Go's sha256).
	maxDigest      = 256
	resumeHeader   = len(resumeMagic) + 1 + 8 + 8
	maxResumeState = resumeHeader + 2 + MaxIdentity + 2 + maxDigest + sha256.Size
)

var errResumeState = errors.New("not a valid resume state")

func (st resumeState) encode() []byte {
	b := make([]byte, 0, resumeHeader+4+len(st.Identity)+len(st.Digest)+sha256.Size)
	b = append(b, resumeMagic...)
	b = append(b, resumeVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(st.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(st.Offset))
	b = binary.BigEndian.AppendUint16(b, uint16(len(st.Identity)))
	b = append(b, st.Identity...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(st.Digest)))
	b = append(b, st.Digest...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func parseResumeState(b []byte) (resumeState, error) {
	var st resumeState
	if len(b) < resumeHeader+4+sha256.Size || len(b) > maxResumeState {
		return st, fmt.Errorf("%d bytes: %w", len(b), errResumeState)
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return st, fmt.Errorf("checksum: %w", errResumeState)
	}
	if string(body[:4]) != resumeMagic || body[4] != resumeVersion {
		return st, fmt.Errorf("magic or version %x: %w", body[:5], errResumeState)
	}
	size, off := binary.BigEndian.Uint64(body[5:]), binary.BigEndian.Uint64(body[13:])
	if size > math.MaxInt64 || off > size {
		return st, fmt.Errorf("offset %d of %d: %w", off, size, errResumeState)
	}
	st.Size, st.Offset = int64(size), int64(off)
	rest := body[resumeHeader:]
	var ok bool
	if st.Identity, rest, ok = field(rest, MaxIdentity); !ok {
		return st, fmt.Errorf("identity: %w", errResumeState)
	}
	if st.Digest, rest, ok = field(rest, maxDigest); !ok || len(rest) != 0 {
		return st, fmt.Errorf("digest: %w", errResumeState)
	}
	if _, err := st.restore(); err != nil {
		return st, fmt.Errorf("digest: %w: %w", errResumeState, err)
	}
	return st, nil
}

// field splits a u16-length-prefixed field of at most max bytes off b.
func field(b []byte, max int) (f, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > max || len(b)-2 < n {
		return nil, nil, false
	}
	return bytes.Clone(b[2 : 2+n]), b[2+n:], true
}

// restore returns a sha256 that has hashed the first Offset bytes.
func (st resumeState) restore() (hash.Hash, error) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Digest); err != nil {
		return nil, err
	}
	return h, nil
}

// readResumeState reads a state file; any error means start from zero.
func readResumeState(path string) (resumeState, error) {
	f, err := os.Open(path)
	if err != nil {
		return resumeState{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(maxResumeState)+1))
	if err != nil {
		return resumeState{}, err
	}
	st, err := parseResumeState(b)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// writeResumeState replaces a state file atomically and durably: temp file,
// fsync, rename, fsync of the directory.
func writeResumeState(p resumePaths, st resumeState) error {
	f, err := os.OpenFile(p.stateTmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(st.encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p.stateTmp, err)
	}
	if err := os.Rename(p.stateTmp, p.state); err != nil {
		return err
	}
	return SyncDir(p.dir)
}

// resumePaths are the files of one resumable copy in the temp directory:
// the partial data, its state and the state's temp file. The name is a hash
// of the caller's key, so no name from a device becomes a path.
type resumePaths struct {
	dir, name             string
	data, state, stateTmp string
}
