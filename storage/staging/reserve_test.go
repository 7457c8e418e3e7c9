package staging

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
)

// diskOf makes s see a filesystem of capacity bytes whose free space is
// capacity minus what staging holds, as statfs would report it: bytes a
// copy has written are no longer free, and the reservation must not count
// them a second time.
func diskOf(t *testing.T, s *Staging, capacity int64) {
	s.free = func() (int64, error) {
		var used int64
		err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err == nil {
				used += fi.Size()
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
		return capacity - used, nil
	}
}

// gateReader hands out head, then blocks until release is closed before
// handing out the rest. waiting is closed when it blocks: by then the copy
// has written head.
type gateReader struct {
	head, rest []byte
	waiting    chan struct{}
	release    chan struct{}
	once       sync.Once
}

func newGateReader(data []byte, at int) *gateReader {
	return &gateReader{head: data[:at], rest: data[at:], waiting: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateReader) Read(p []byte) (int, error) {
	if len(g.head) > 0 {
		n := copy(p, g.head)
		g.head = g.head[n:]
		return n, nil
	}
	g.once.Do(func() { close(g.waiting) })
	<-g.release
	if len(g.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

func release(g *gateReader) {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

// Two copies that each fit in free space but not together: one is refused
// up front, the other completes; they never both run into ENOSPC.
func TestPutReservesSpace(t *testing.T) {
	s := openTestStaging(t, t.TempDir())
	diskOf(t, s, 150)
	ctx := context.Background()
	a, b := bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("b"), 100)
	ra, rb := newGateReader(a, 0), newGateReader(b, 0)
	type result struct {
		blob Blob
		err  error
	}
	done := make(chan result, 2)
	for _, c := range []struct {
		r    *gateReader
		data []byte
	}{{ra, a}, {rb, b}} {
		go func() {
			blob, err := s.Put(ctx, c.r, int64(len(c.data)), nil)
			done <- result{blob, err}
		}()
	}
	t.Cleanup(func() { release(ra); release(rb) })
	// Whichever reserved first is now blocked in its first read; the
	// other must be refused without reading.
	var first result
	for started, sa, sb := 0, ra.waiting, rb.waiting; first == (result{}); {
		select {
		case first = <-done:
		case <-sa:
			sa, started = nil, started+1
		case <-sb:
			sb, started = nil, started+1
		}
		if started == 2 {
			t.Fatal("both copies started: neither was refused")
		}
	}
	if !errors.Is(first.err, ErrFull) {
		t.Fatalf("first result %+v, want ErrFull", first)
	}
	if got := s.Reserved(); got != 100 {
		t.Fatalf("Reserved() = %d while one copy of 100 bytes is in flight", got)
	}
	release(ra)
	release(rb)
	second := <-done
	if second.err != nil || second.blob.Size != 100 {
		t.Fatalf("second result %+v", second)
	}
	if got := s.Reserved(); got != 0 {
		t.Fatalf("Reserved() = %d after the copies ended", got)
	}
	// The finished blob holds 100 of the 150 bytes: another 100 does not fit
	// until it is gone.
	if _, err := s.Put(ctx, bytes.NewReader(bytes.Repeat([]byte("c"), 100)), 100, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("third copy with 50 bytes free: %v, want ErrFull", err)
	}
	if _, err := s.Remove(second.blob.SHA256, func() (bool, error) { return false, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, bytes.NewReader(bytes.Repeat([]byte("c"), 100)), 100, nil); err != nil {
		t.Fatalf("third copy after the blob was removed: %v", err)
	}
}

// The reservation shrinks as a copy writes, so bytes already on disk are
// not counted both as used and as reserved.
func TestReservationShrinksAsCopyWrites(t *testing.T) {
	s := openTestStaging(t, t.TempDir())
	diskOf(t, s, 150)
	ctx := context.Background()
	g := newGateReader(bytes.Repeat([]byte("a"), 100), 60)
	t.Cleanup(func() { release(g) })
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(ctx, g, 100, nil)
		done <- err
	}()
	<-g.waiting
	// 60 written, 40 still to write: 150 - 60 - 40 = 50 left.
	if got := s.Reserved(); got != 40 {
		t.Fatalf("Reserved() = %d with 40 of 100 bytes still to write", got)
	}
	if _, err := s.Put(ctx, bytes.NewReader(make([]byte, 51)), 51, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("51 bytes with 50 left: %v, want ErrFull", err)
	}
	if _, err := s.Put(ctx, bytes.NewReader(make([]byte, 50)), 50, nil); err != nil {
		t.Fatalf("50 bytes with 50 left: %v", err)
	}
	release(g)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
