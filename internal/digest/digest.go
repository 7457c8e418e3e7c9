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

// Sum hashes everything r yields.
func Sum(r io.Reader) (sha string, n int64, err error) {
	h := sha256.New()
	n, err = io.CopyBuffer(h, r, make([]byte, bufferSize))
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
	DropCache(f)
	sha, n, err = Sum(f)
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
