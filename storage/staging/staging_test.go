package staging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"custodian/internal/digest"
	"custodian/internal/testenv"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

func openTestStaging(t *testing.T, dir string) *Staging {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func tmpEntries(t *testing.T, s *Staging) int {
	p, err := s.Partial()
	if err != nil {
		t.Fatal(err)
	}
	return len(p)
}

func TestStagingPut(t *testing.T) {
	s := openTestStaging(t, t.TempDir())
	data := bytes.Repeat([]byte("evidence"), 300000)
	blob, err := s.Put(context.Background(), bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if blob.SHA256 != sum(data) || blob.Size != int64(len(data)) {
		t.Fatalf("blob %+v", blob)
	}
	got, err := os.ReadFile(s.Path(blob.SHA256))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("staged copy differs: %v", err)
	}
	// The same content again replaces the blob atomically and heals rot.
	os.WriteFile(s.Path(blob.SHA256), []byte("rotten"), 0o640)
	if err := s.Verify(blob.SHA256, blob.Size); !errors.Is(err, digest.ErrMismatch) && !errors.Is(err, ErrShortCopy) {
		t.Fatalf("verify of rotten blob: %v", err)
	}
	if _, err := s.Put(context.Background(), bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(blob.SHA256, blob.Size); err != nil {
		t.Fatalf("after re-put: %v", err)
	}
	if n := tmpEntries(t, s); n != 0 {
		t.Fatalf("%d temp files left", n)
	}
}

func TestStagingVerifyDetectsSameSizeTamper(t *testing.T) {
	s := openTestStaging(t, t.TempDir())
	data := []byte("0123456789")
	blob, _ := s.Put(context.Background(), bytes.NewReader(data), 10, nil)
	os.WriteFile(s.Path(blob.SHA256), []byte("0123456788"), 0o640)
	err := s.Verify(blob.SHA256, 10)
	var hm *digest.MismatchError
	if !errors.As(err, &hm) || hm.Want != blob.SHA256 {
		t.Fatalf("err %v, want hash mismatch", err)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestStagingPutFailures(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		src   io.Reader
		size  int64
		check func(error) bool
	}{
		{"source unplugged", context.Background(), &failingReader{make([]byte, 5000), syscall.EIO},
			10000, func(err error) bool { var re *ReadError; return errors.As(err, &re) && errors.Is(err, syscall.EIO) }},
		{"source shorter than stat", context.Background(), bytes.NewReader(make([]byte, 10)),
			20, func(err error) bool { return errors.Is(err, ErrShortCopy) }},
		{"source longer than stat", context.Background(), bytes.NewReader(make([]byte, 30)),
			20, func(err error) bool { return errors.Is(err, ErrShortCopy) }},
		{"shutdown", ctx, bytes.NewReader(make([]byte, 30)),
			30, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStaging(t, t.TempDir())
			_, err := s.Put(tc.ctx, tc.src, tc.size, nil)
			if !tc.check(err) {
				t.Fatalf("err = %v", err)
			}
			if n := tmpEntries(t, s); n != 0 {
				t.Fatalf("%d partial files left after a failed copy", n)
			}
			var blobs int
			s.Blobs(func(string) error { blobs++; return nil })
			if blobs != 0 {
				t.Fatalf("%d blobs after a failed copy", blobs)
			}
		})
	}
}

func TestStagingFullDisk(t *testing.T) {
	dir := t.TempDir()
	testenv.MountTmpfs(t, dir, "1m")
	s := openTestStaging(t, filepath.Join(dir, "staging"))
	data := make([]byte, 2<<20)
	_, err := s.Put(context.Background(), bytes.NewReader(data), int64(len(data)), nil)
	if !errors.Is(err, ErrFull) {
		t.Fatalf("err %v, want ErrFull", err)
	}
	// Size unknown up front: the write itself hits ENOSPC.
	_, err = s.Put(context.Background(), bytes.NewReader(data), -1, nil)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err %v, want ENOSPC", err)
	}
	if n := tmpEntries(t, s); n != 0 {
		t.Fatalf("%d partial files left on a full disk", n)
	}
	// Space comes back: the same copy works.
	small := []byte("fits")
	if _, err := s.Put(context.Background(), bytes.NewReader(small), 4, nil); err != nil {
		t.Fatalf("after the disk emptied: %v", err)
	}
}

func TestReconcile(t *testing.T) {
	dir := t.TempDir()
	s := openTestStaging(t, filepath.Join(dir, "staging"))
	c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return catalogtest.T0 }})
	ctx := context.Background()

	kept, _ := s.Put(ctx, bytes.NewReader([]byte("kept")), 4, nil)
	gone, _ := s.Put(ctx, bytes.NewReader([]byte("gone")), 4, nil)
	shrunk, _ := s.Put(ctx, bytes.NewReader([]byte("shrunk")), 6, nil)
	orphan, _ := s.Put(ctx, bytes.NewReader([]byte("orphan")), 6, nil)
	for i, b := range []Blob{kept, gone, shrunk} {
		r := catalogtest.Record("D1", "1", string(rune('a'+i)), b.SHA256, catalogtest.T0)
		r.Size = b.Size
		c.Add(r)
	}
	// A room segment moved into staging just before a crash: recorded as
	// staged, its copy in place, its verification not yet recorded.
	sealed, _ := s.Put(ctx, bytes.NewReader([]byte("segment")), 7, nil)
	seg := catalogtest.Record("", "", "seg.mp4", sealed.SHA256, catalogtest.T0)
	seg.Size, seg.State = sealed.Size, catalog.StateStaged
	c.Add(seg)
	os.Remove(s.Path(gone.SHA256))
	os.WriteFile(s.Path(shrunk.SHA256), []byte("shr"), 0o640)
	partial := filepath.Join(s.Dir(), "tmp", ".partial-123")
	os.WriteFile(partial, []byte("half"), 0o640)

	rep, err := Reconcile(c, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.PartialRemoved) != 1 || len(rep.Orphans) != 1 || rep.Orphans[0] != orphan.SHA256 || len(rep.Missing) != 2 || len(rep.Verified) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if _, err := os.Stat(partial); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("partial copy still there")
	}
	if _, err := os.Stat(s.Path(orphan.SHA256)); err != nil {
		t.Fatal("orphan blob was deleted; start-up must never delete a blob")
	}
	want := map[uint64]catalog.State{1: catalog.StateVerified, 2: catalog.StateMissing, 3: catalog.StateCorrupt, 4: catalog.StateVerified}
	for id, st := range want {
		if r, _ := c.Get(id); r.State != st {
			t.Errorf("record %d is %s, want %s", id, r.State, st)
		}
	}
	// A second start finds nothing new.
	rep, _ = Reconcile(c, s, slog.New(slog.DiscardHandler))
	if len(rep.Missing) != 0 || len(rep.PartialRemoved) != 0 || len(rep.Verified) != 0 {
		t.Fatalf("second reconcile %+v", rep)
	}
}

func TestRemoveAsksUnderTheBlobLock(t *testing.T) {
	s := openTestStaging(t, t.TempDir())
	ctx := context.Background()
	data := []byte("the same footage, docked twice")
	blob, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := s.Remove(blob.SHA256, func() (bool, error) { return true, nil }); removed || err != nil {
		t.Fatalf("removed a blob in use: %v %v", removed, err)
	}
	if _, err := s.Stat(blob.SHA256); err != nil {
		t.Fatal(err)
	}

	// A second copy of the same content is committing its record while
	// retention lets go of the first: Remove must wait, then see the record.
	var mu sync.Mutex
	recorded := false
	inCommit, release := make(chan struct{}), make(chan struct{})
	putDone := make(chan error)
	go func() {
		_, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)), func(Blob) error {
			close(inCommit)
			<-release
			mu.Lock()
			recorded = true
			mu.Unlock()
			return nil
		})
		putDone <- err
	}()
	<-inCommit
	removeDone := make(chan bool)
	go func() {
		removed, err := s.Remove(blob.SHA256, func() (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return recorded, nil
		})
		if err != nil {
			t.Error(err)
		}
		removeDone <- removed
	}()
	select {
	case <-removeDone:
		t.Fatal("Remove ran while a writer of the same content held the blob")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-putDone; err != nil {
		t.Fatal(err)
	}
	if <-removeDone {
		t.Fatal("Remove took the blob of a record committed under its lock")
	}
	if err := s.Verify(blob.SHA256, blob.Size); err != nil {
		t.Fatal(err)
	}

	if removed, err := s.Remove(blob.SHA256, func() (bool, error) { return false, nil }); !removed || err != nil {
		t.Fatalf("unused blob not removed: %v %v", removed, err)
	}
	if _, err := s.Stat(blob.SHA256); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("blob still there: %v", err)
	}
	if removed, err := s.Remove(blob.SHA256, func() (bool, error) { return false, nil }); removed || err != nil {
		t.Fatalf("second remove: %v %v", removed, err)
	}
	if _, err := s.Remove("../../etc/passwd", func() (bool, error) { return false, nil }); err == nil {
		t.Fatal("removed by a name that is not a hash")
	}
}

// Start-up and the scrubber read a catalog larger than one page, and look
// up more blobs than one batch, without missing or repeating one.
func TestReconcileAndScrubPageThrough(t *testing.T) {
	s := openTestStaging(t, filepath.Join(t.TempDir(), "staging"))
	c := catalogtest.Open(t, catalog.Options{NoSync: true})
	n := 2*pageSize + 7
	write := func(body string) string {
		sha := sum([]byte(body))
		os.MkdirAll(filepath.Dir(s.Path(sha)), 0o750)
		if err := os.WriteFile(s.Path(sha), []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
		return sha
	}
	gone := 0
	for i := range n {
		body := fmt.Sprintf("recording %d", i)
		r := catalogtest.Record("D1", "1", body, write(body), catalogtest.T0)
		r.Size = int64(len(body))
		if _, _, err := c.Add(r); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			os.Remove(s.Path(r.SHA256))
			gone++
		}
	}
	for i := range 3 {
		write(fmt.Sprintf("orphan %d", i))
	}
	rep, err := Reconcile(c, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != gone || len(rep.Orphans) != 3 || len(rep.Verified) != 0 {
		t.Fatalf("missing %d (want %d), orphans %d (want 3), verified %d", len(rep.Missing), gone, len(rep.Orphans), len(rep.Verified))
	}
	sc := Scrubber{Catalog: c, Staging: s, Log: slog.New(slog.DiscardHandler)}
	if checked, bad, err := sc.Scrub(context.Background()); err != nil || checked != n-gone || bad != 0 {
		t.Fatalf("scrub checked %d (want %d), %d bad, %v", checked, n-gone, bad, err)
	}
}
