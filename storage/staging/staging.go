// Package staging owns the station's local copies: content-addressed blobs
// written through their hash, re-read before they are trusted, scrubbed on a
// schedule, and removed by this package alone.
package staging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"custodian/internal/digest"
)

// ErrFull is returned before a copy when staging has no room for it.
var ErrFull = errors.New("staging has no room")

// ErrShortCopy is returned when a source gave fewer or more bytes than it said it had.
var ErrShortCopy = errors.New("byte count differs from source size")

// Staging is the station's content-addressed store of verified copies:
// <dir>/<first two hex digits>/<sha256>. A blob's name is its hash, so a copy
// interrupted after its rename is found again by the next copy of the same
// file, and no name from a device ever becomes a path.
type Staging struct {
	dir string
	tmp string
	buf sync.Pool
	// locks serialise writers and the remover of one hash: a blob is never
	// removed between its rename and the commit of the record that names it.
	// Hashes share a lock by their first byte; a collision only waits.
	locks [256]sync.Mutex
	// free is the free-space lookup, Free unless a test sets it.
	free func() (int64, error)
	// checkpointEvery is CheckpointEvery unless a test sets it.
	checkpointEvery int64
	// mu guards reserved, the bytes copies in flight have still to write,
	// and resuming, the resumable copies in flight by their file name.
	mu       sync.Mutex
	reserved int64
	resuming map[string]bool
}

// CopyBufferSize is the read size of one copy step; large enough for
// streaming throughput, small enough to keep memory flat per copy.
const CopyBufferSize = 1 << 20

const tmpDirName = "tmp"

// Open creates the staging directory if needed.
func Open(dir string) (*Staging, error) {
	s := &Staging{dir: dir, tmp: filepath.Join(dir, tmpDirName)}
	s.free = s.Free
	s.checkpointEvery = CheckpointEvery
	s.resuming = make(map[string]bool)
	s.buf.New = func() any { b := make([]byte, CopyBufferSize); return &b }
	if err := os.MkdirAll(s.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("open staging: %w", err)
	}
	return s, nil
}

// Dir is the staging root.
func (s *Staging) Dir() string { return s.dir }

// Path is where the blob with this hash lives.
func (s *Staging) Path(sha string) string {
	return filepath.Join(s.dir, sha[:2], sha)
}

// Blob is what Put wrote.
type Blob struct {
	SHA256 string
	Size   int64
	// Resumed is how many bytes PutResumable took from an interrupted
	// copy rather than from the source.
	Resumed int64
}

// Put copies src into staging in one pass through SHA-256: temp file, byte
// count check against size (negative: unknown), fsync, rename to the hash
// name, fsync of the directories. It then re-reads the blob from disk, not
// from the page cache, and checks the hash again. On any error the temp file
// is removed and the blob is not to be trusted.
//
// commit, when set, runs after the verification while the blob's lock is
// held, so no Remove can take the blob before commit has recorded it; its
// error is Put's. The blob stays in place either way.
func (s *Staging) Put(ctx context.Context, src io.Reader, size int64, commit func(Blob) error) (Blob, error) {
	res, err := s.reserve(size)
	if err != nil {
		return Blob{}, err
	}
	defer res.release()
	f, err := os.CreateTemp(s.tmp, ".partial-*")
	if err != nil {
		return Blob{}, fmt.Errorf("stage: %w", err)
	}
	tmp := f.Name()
	blob, err := s.write(ctx, f, src, size, res)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("stage: close %s: %w", tmp, cerr)
	}
	if err != nil {
		return Blob{}, s.dropTemp(tmp, err)
	}
	return s.publish(tmp, blob, commit)
}

// publish renames the finished, fsynced temp file of blob to its hash name,
// re-reads it from disk, and runs commit, all under the blob's lock.
func (s *Staging) publish(tmp string, blob Blob, commit func(Blob) error) (Blob, error) {
	defer s.lock(blob.SHA256)()
	if err := s.commit(tmp, blob.SHA256); err != nil {
		return Blob{}, s.dropTemp(tmp, err)
	}
	if err := s.Verify(blob.SHA256, blob.Size); err != nil {
		return Blob{}, err
	}
	if commit != nil {
		if err := commit(blob); err != nil {
			return blob, err
		}
	}
	return blob, nil
}

// dropTemp removes the temp file of a failed copy.
func (s *Staging) dropTemp(tmp string, err error) error {
	if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("remove partial copy: %w", rerr))
	}
	return err
}

// lock takes the lock of sha's blob and returns its unlock.
func (s *Staging) lock(sha string) func() {
	var i byte
	if len(sha) >= 2 {
		if b, err := hex.DecodeString(sha[:2]); err == nil {
			i = b[0]
		}
	}
	s.locks[i].Lock()
	return s.locks[i].Unlock
}

// Remove deletes the blob sha unless inUse, asked while the blob's lock is
// held, says a recording still needs it. It is the only code that removes a
// blob: the check and the removal cannot be split by a writer of the same
// content, which takes the same lock until its record is committed. A blob
// already gone is no error.
func (s *Staging) Remove(sha string, inUse func() (bool, error)) (removed bool, err error) {
	if !digest.Valid(sha) {
		return false, fmt.Errorf("remove %q: not a sha256", sha)
	}
	defer s.lock(sha)()
	used, err := inUse()
	if err != nil {
		return false, fmt.Errorf("remove %s: %w", sha, err)
	}
	if used {
		return false, nil
	}
	if err := os.Remove(s.Path(sha)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("remove staged copy %s: %w", sha, err)
	}
	if err := SyncDir(filepath.Dir(s.Path(sha))); err != nil {
		return true, fmt.Errorf("remove staged copy %s: %w", sha, err)
	}
	return true, nil
}

func (s *Staging) write(ctx context.Context, f *os.File, src io.Reader, size int64, res *reservation) (Blob, error) {
	c := copier{f: f, h: sha256.New(), res: res}
	bp := s.buf.Get().(*[]byte)
	defer s.buf.Put(bp)
	if err := c.run(ctx, src, *bp, 0, nil); err != nil {
		return Blob{}, err
	}
	if size >= 0 && c.n != size {
		return Blob{}, fmt.Errorf("stage: copied %d of %d bytes: %w", c.n, size, ErrShortCopy)
	}
	if err := f.Sync(); err != nil {
		return Blob{}, fmt.Errorf("stage: fsync: %w", err)
	}
	return Blob{SHA256: hex.EncodeToString(c.h.Sum(nil)), Size: c.n}, nil
}

func (s *Staging) commit(tmp, sha string) error {
	final := s.Path(sha)
	dir := filepath.Dir(final)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("stage: %w", err)
		}
		if err := SyncDir(s.dir); err != nil {
			return fmt.Errorf("stage: %w", err)
		}
	}
	// An existing blob of this name has the same content by construction;
	// replacing it atomically also heals one that rotted on disk.
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	// The new name is what must survive a crash. The temp directory is not
	// synced: if its old name came back after a crash it would be a second
	// link to the same bytes, which start-up removes as a partial copy.
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	return nil
}

// Adopt moves a finished file that was hashed as it was written (an
// interview-room segment) into staging: fsync, rename to its hash name on the
// same filesystem, fsync of both directories, then a re-read from disk that
// must give sha and size. The file must not change after it was hashed.
func (s *Staging) Adopt(path, sha string, size int64) (Blob, error) {
	if !digest.Valid(sha) {
		return Blob{}, fmt.Errorf("adopt %s: %q is not a sha256", path, sha)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return Blob{}, fmt.Errorf("adopt: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Blob{}, fmt.Errorf("adopt: fsync %s: %w", path, err)
	}
	defer s.lock(sha)()
	if err := s.commit(path, sha); err != nil {
		return Blob{}, fmt.Errorf("adopt %s: %w", path, err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return Blob{}, fmt.Errorf("adopt: %w", err)
	}
	if err := s.Verify(sha, size); err != nil {
		return Blob{}, err
	}
	return Blob{SHA256: sha, Size: size}, nil
}

// Verify re-reads the blob from disk and checks its size and hash.
func (s *Staging) Verify(sha string, size int64) error {
	p := s.Path(sha)
	got, n, err := digest.SumFile(p)
	if err != nil {
		return fmt.Errorf("verify %s: %w", sha, err)
	}
	if n != size {
		return fmt.Errorf("verify %s: size %d, expected %d: %w", sha, n, size, ErrShortCopy)
	}
	if got != sha {
		return fmt.Errorf("verify: %w", &digest.MismatchError{Path: p, Want: sha, Got: got})
	}
	return nil
}

// Stat returns the size of a blob, or an error wrapping fs.ErrNotExist.
func (s *Staging) Stat(sha string) (int64, error) {
	fi, err := os.Stat(s.Path(sha))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Partial lists temp files left by copies that were interrupted (a crash).
func (s *Staging) Partial() ([]string, error) {
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, fmt.Errorf("list partial copies: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".partial-") {
			out = append(out, filepath.Join(s.tmp, e.Name()))
		}
	}
	return out, nil
}

// Blobs calls fn with the hash of every blob in staging.
func (s *Staging) Blobs(fn func(sha string) error) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list staging: %w", err)
	}
	for _, d := range ents {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.dir, d.Name()))
		if err != nil {
			return fmt.Errorf("list staging: %w", err)
		}
		for _, f := range files {
			if digest.Valid(f.Name()) && strings.HasPrefix(f.Name(), d.Name()) && f.Type().IsRegular() {
				if err := fn(f.Name()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// SyncDir fsyncs a directory, making a rename or a new entry in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
