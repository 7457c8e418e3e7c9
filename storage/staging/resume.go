package staging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Resume names an interrupted copy so that the next attempt continues it.
type Resume struct {
	// Key is the caller's stable name of the source (dock, slot and path).
	// Any bytes: the partial is named by its hash.
	Key string
	// Identity is the caller's proof that the source is unchanged (size,
	// mtime, a hash of its head and tail), at most MaxIdentity bytes. A
	// partial recorded with another identity is discarded.
	Identity []byte
}

// ErrBusy is returned when a resumable copy of the same source is in flight.
var ErrBusy = errors.New("a copy of this source is in flight")

// CheckpointEvery is how many bytes a resumable copy writes between two
// checkpoints: an interruption costs at most this much again, a checkpoint
// costs two fsyncs and a small file.
const CheckpointEvery = 32 << 20

const resumePrefix = ".resume-"

// PutResumable is Put for a camera file, whose copy survives an unplug, a
// crash or a shutdown. If a partial of r.Key with the same identity and
// size is there, it is cut to its recorded length, its hash state restored,
// and the copy continues from that offset of src; otherwise it starts from
// zero and discards the old partial. Every CheckpointEvery bytes it fsyncs
// the partial, then records offset and hash state; the recorded length
// never exceeds the fsynced bytes.
//
// On an error or a cancelled ctx it records the point reached and keeps the
// partial, unless the partial cannot be continued (a source longer or
// shorter than size, a failed fsync). Space is reserved for the bytes still
// to write. On success the partial becomes a blob as in Put, with
// Blob.Resumed the bytes it took from the partial.
func (s *Staging) PutResumable(ctx context.Context, src io.ReadSeeker, size int64, r Resume, commit func(Blob) error) (Blob, error) {
	if size < 0 || len(r.Identity) > MaxIdentity {
		return Blob{}, fmt.Errorf("stage %q: size %d, identity of %d bytes: need a known size and at most %d bytes",
			r.Key, size, len(r.Identity), MaxIdentity)
	}
	p := s.resumePaths(r.Key)
	unclaim, err := s.claim(p)
	if err != nil {
		return Blob{}, fmt.Errorf("stage %q: %w", r.Key, err)
	}
	defer unclaim()
	rc, err := s.openResume(p, size, r.Identity)
	if err != nil {
		return Blob{}, err
	}
	res, err := s.reserve(size - rc.c.n)
	if err != nil {
		return Blob{}, rc.fail(err)
	}
	defer res.release()
	rc.c.res = res
	bp := s.buf.Get().(*[]byte)
	defer s.buf.Put(bp)
	blob, err := rc.copy(ctx, src, *bp)
	if err != nil {
		return Blob{}, rc.fail(err)
	}
	if err := rc.c.f.Close(); err != nil {
		return Blob{}, fmt.Errorf("stage: close %s: %w", p.data, err)
	}
	// The state goes first: a crash before the rename leaves a partial
	// without a state, which the next attempt starts over.
	if err := removeIfExists(p.state); err != nil {
		return Blob{}, fmt.Errorf("stage: %w", err)
	}
	return s.publish(p.data, blob, commit)
}

// DropResume discards the partial of key, for a source gone for good.
// Nothing to drop is no error.
func (s *Staging) DropResume(key string) error {
	p := s.resumePaths(key)
	unclaim, err := s.claim(p)
	if err != nil {
		return fmt.Errorf("drop resumable copy %q: %w", key, err)
	}
	defer unclaim()
	return s.dropResume(p)
}

func (s *Staging) resumePaths(key string) resumePaths {
	k := sha256.Sum256([]byte(key))
	return s.resumePathsOf(resumePrefix + hex.EncodeToString(k[:]))
}

// resumePathsOf are the files of the resumable copy whose data file is name.
func (s *Staging) resumePathsOf(name string) resumePaths {
	base := filepath.Join(s.tmp, name)
	return resumePaths{dir: s.tmp, name: name, data: base, state: base + ".state", stateTmp: base + ".state.tmp"}
}

// claim makes the caller the only user of p's files until it calls the
// returned release.
func (s *Staging) claim(p resumePaths) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resuming[p.name] {
		return nil, ErrBusy
	}
	s.resuming[p.name] = true
	return func() {
		s.mu.Lock()
		delete(s.resuming, p.name)
		s.mu.Unlock()
	}, nil
}

// dropResume removes the files of p, the state first so that no state ever
// describes missing bytes.
func (s *Staging) dropResume(p resumePaths) error {
	for _, f := range []string{p.state, p.stateTmp, p.data} {
		if err := removeIfExists(f); err != nil {
			return fmt.Errorf("drop resumable copy: %w", err)
		}
	}
	if err := SyncDir(p.dir); err != nil {
		return fmt.Errorf("drop resumable copy: %w", err)
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// resumeCopy is one attempt at a resumable copy.
type resumeCopy struct {
	s        *Staging
	p        resumePaths
	c        copier
	size     int64
	identity []byte
	resumed  int64 // bytes taken from the partial
	saved    int64 // offset of the state on disk
	// syncFailed: after a failed fsync what the partial holds is unknown,
	// and a later fsync may succeed without the lost pages.
	syncFailed bool
}

// openResume opens the partial of p, continued from its state if that is
// intact and for this source, else emptied.
func (s *Staging) openResume(p resumePaths, size int64, identity []byte) (*resumeCopy, error) {
	f, err := os.OpenFile(p.data, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	rc := &resumeCopy{s: s, p: p, c: copier{f: f}, size: size, identity: identity}
	if st, err := readResumeState(p.state); err == nil && st.Size == size && bytes.Equal(st.Identity, identity) {
		fi, err := f.Stat()
		h, herr := st.restore()
		if err == nil && herr == nil && fi.Size() >= st.Offset {
			rc.c.h, rc.c.n, rc.resumed, rc.saved = h, st.Offset, st.Offset, st.Offset
		}
	}
	if rc.c.h == nil {
		rc.c.h = sha256.New()
		// The old state goes, durably, before its bytes: a crash must not
		// pair it with the bytes of another source.
		if err = os.Remove(p.state); err == nil {
			err = SyncDir(p.dir)
		} else if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if err == nil {
		err = f.Truncate(rc.c.n)
	}
	if err == nil {
		_, err = f.Seek(rc.c.n, io.SeekStart)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("stage: open %s: %w", p.data, err), f.Close())
	}
	return rc, nil
}

// copy copies the rest of src into the partial and fsyncs it.
func (rc *resumeCopy) copy(ctx context.Context, src io.ReadSeeker, buf []byte) (Blob, error) {
	if pos, err := src.Seek(rc.c.n, io.SeekStart); err != nil || pos != rc.c.n {
		if err == nil {
			err = fmt.Errorf("at %d", pos)
		}
		return Blob{}, fmt.Errorf("stage: seek source to %d: %w", rc.c.n, &ReadError{Err: err})
	}
	// One byte past size is enough to tell a source longer than it said.
	rest := io.LimitReader(src, rc.size-rc.c.n+1)
	if err := rc.c.run(ctx, rest, buf, rc.s.checkpointEvery, rc.checkpoint); err != nil {
		return Blob{}, err
	}
	if rc.c.n != rc.size {
		return Blob{}, fmt.Errorf("stage: copied %d of %d bytes: %w", rc.c.n, rc.size, ErrShortCopy)
	}
	if err := rc.c.f.Sync(); err != nil {
		rc.syncFailed = true
		return Blob{}, fmt.Errorf("stage: fsync: %w", err)
	}
	return Blob{SHA256: hex.EncodeToString(rc.c.h.Sum(nil)), Size: rc.c.n, Resumed: rc.resumed}, nil
}

// checkpoint makes the bytes copied so far durable, then records them.
func (rc *resumeCopy) checkpoint() error {
	if rc.c.n > rc.size {
		return nil // longer than it said: ErrShortCopy follows
	}
	if err := rc.c.f.Sync(); err != nil {
		rc.syncFailed = true
		return fmt.Errorf("stage: fsync %s: %w", rc.p.data, err)
	}
	m, ok := rc.c.h.(encoding.BinaryMarshaler)
	if !ok {
		return fmt.Errorf("stage: checkpoint: %T cannot save its state", rc.c.h)
	}
	d, err := m.MarshalBinary()
	if err == nil {
		err = writeResumeState(rc.p, resumeState{Size: rc.size, Offset: rc.c.n, Identity: rc.identity, Digest: d})
	}
	if err != nil {
		return fmt.Errorf("stage: checkpoint: %w", err)
	}
	rc.saved = rc.c.n
	return nil
}

// fail ends a failed attempt. It records the point reached and keeps the
// partial, or drops a partial that cannot be continued or holds nothing.
func (rc *resumeCopy) fail(err error) error {
	if rc.c.n > rc.saved && !rc.syncFailed && !errors.Is(err, ErrShortCopy) {
		// Best effort: without it the last recorded state stands.
		if cerr := rc.checkpoint(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	if cerr := rc.c.f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("stage: close %s: %w", rc.p.data, cerr))
	}
	if rc.c.n == 0 || rc.syncFailed || errors.Is(err, ErrShortCopy) {
		if derr := rc.s.dropResume(rc.p); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	return err
}

// resumeAges returns the data file name of every resumable copy in the
// temp directory with the time of its newest file.
func (s *Staging) resumeAges() (map[string]time.Time, error) {
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, fmt.Errorf("list resumable copies: %w", err)
	}
	newest := make(map[string]time.Time)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), resumePrefix) {
			continue
		}
		name, _, _ := strings.Cut(e.Name()[len(resumePrefix):], ".")
		name = resumePrefix + name
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list resumable copies: %w", err)
		}
		if t := fi.ModTime(); t.After(newest[name]) {
			newest[name] = t
		}
	}
	return newest, nil
}
