package upload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"custodian/internal/digest"
	"custodian/storage/catalog"
)

// inMemoryMax is the largest staged copy read into memory to be verified
// and sent from there: as much as one part buffer of the archive's.
const inMemoryMax = 32 << 20

// staged is the staged copy of a recording, opened for upload and
// re-verified from disk (not the page cache) against its recorded hash.
type staged struct {
	body  io.ReaderAt
	close func()
}

// openStaged opens r's staged copy for upload, re-verified as it is read,
// each byte read from the disk once. A copy of up to inMemoryMax is read
// into memory, hashed, and sent from there: the bytes sent are the bytes
// verified. A larger copy goes as a multipart upload, read from the disk
// part by part (its cached pages dropped first): the archive hashes every
// byte it reads and completes the upload only when the whole matches the
// record; a mismatch there is judged by staging's Verify (see upload). An
// error is staging's verdict on the copy.
func (u *Uploader) openStaged(r catalog.Recording) (staged, error) {
	if r.Size <= inMemoryMax {
		b, err := u.readVerified(r)
		if err != nil {
			return staged{}, err
		}
		return staged{body: bytes.NewReader(b), close: func() {}}, nil
	}
	f, err := os.Open(u.staging.Path(r.SHA256))
	if err != nil {
		return staged{}, err
	}
	digest.DropCache(f)
	return staged{body: f, close: func() { digest.DropCache(f); f.Close() }}, nil
}

// readVerified reads r's staged copy from disk and checks its size and
// hash. When they differ, staging's own Verify gives the verdict (corrupt,
// short, missing); a copy it finds intact was changing as it was read.
func (u *Uploader) readVerified(r catalog.Recording) ([]byte, error) {
	b, err := readExactly(u.staging.Path(r.SHA256), r.Size)
	if err == nil {
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != r.SHA256 {
			err = fmt.Errorf("staged copy %s: read hashes to %x", r.SHA256, sum)
		}
	}
	if err != nil {
		if verr := u.staging.Verify(r.SHA256, r.Size); verr != nil {
			return nil, verr
		}
		return nil, err
	}
	return b, nil
}

// readExactly reads the file at path, which must be size bytes, from the
// disk: its cached pages are dropped first, and after, as staging does.
func readExactly(path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	digest.DropCache(f)
	defer digest.DropCache(f)
	b := make([]byte, size+1)
	n, err := io.ReadFull(f, b)
	switch {
	case err == nil:
		return nil, fmt.Errorf("staged copy %s: longer than %d bytes", path, size)
	case err != io.ErrUnexpectedEOF && err != io.EOF:
		return nil, err
	case int64(n) != size:
		return nil, fmt.Errorf("staged copy %s: %d bytes, expected %d", path, n, size)
	}
	return b[:size], nil
}
