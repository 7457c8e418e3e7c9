// Package digest is custodian's one way of naming bytes: the SHA-256 of a
// recording, computed once on the way in and checked at every hand-over.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrMismatch is wrapped by MismatchError.
var ErrMismatch = errors.New("hash mismatch")

// MismatchError says bytes no longer hash to what was recorded.
type MismatchError struct {
	Path      string
	Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: sha256 is %s, expected %s", e.Path, e.Got, e.Want)
}
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// bufferSize is the read size of one hashing step.
const bufferSize = 1 << 20

// Sum hashes everything r yields, a megabyte per read.
func Sum(r io.Reader) (sha string, n int64, err error) {
	return sum(r, bufferSize)
}

func sum(r io.Reader, bufSize int64) (sha string, n int64, err error) {
	h := sha256.New()
	// Hidden behind a plain Reader, an *os.File cannot take over the copy
	// with its WriteTo, which reads 32 KiB at a time into a buffer of its own.
	n, err = io.CopyBuffer(h, struct{ io.Reader }{r}, make([]byte, bufSize))
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// SumFile hashes a file read from the device, dropping its cached pages
// first so the bytes checked are the bytes on disk.
func SumFile(path string) (sha string, n int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	size := int64(bufferSize)
	if fi, err := f.Stat(); err == nil {
		size = min(size, fi.Size()+1) // a small file gets a small buffer
	}
	DropCache(f)
	sha, n, err = sum(f, size)
	DropCache(f)
	return sha, n, err
}

// Valid reports whether s is a SHA-256 in lower-case hex.
func Valid(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
