package staging

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

const resumeTestSize = 8 << 20

func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// source is a camera file: it counts the bytes it hands out, can fail with
// EIO at an offset (an unplug), and can call onRead after every read.
type source struct {
	*bytes.Reader
	failAt int64
	onRead func(pos int64)
	read   int64
}

func newSource(data []byte) *source { return &source{Reader: bytes.NewReader(data)} }

func (s *source) Read(p []byte) (int, error) {
	pos, _ := s.Seek(0, io.SeekCurrent)
	if s.failAt > 0 {
		if pos >= s.failAt {
			return 0, syscall.EIO
		}
		p = p[:min(int64(len(p)), s.failAt-pos)]
	}
	n, err := s.Reader.Read(p)
	s.read += int64(n)
	if s.onRead != nil {
		s.onRead(pos + int64(n))
	}
	return n, err
}

func openResumeStaging(t *testing.T) *Staging {
	s := openTestStaging(t, t.TempDir())
	s.checkpointEvery = 1 << 20
	return s
}

// resumeFiles lists the files of resumable copies in the temp directory.
func resumeFiles(t *testing.T, s *Staging) []string {
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".resume-") {
			out = append(out, e.Name())
		}
	}
	return out
}

var dockFile = Resume{Key: "dock-1/slot-3/DCIM/100/VID0001.MP4", Identity: []byte("size mtime head tail")}

// interrupt runs a copy of data that the camera's unplug stops at failAt.
func interrupt(t *testing.T, s *Staging, data []byte, failAt int64) {
	t.Helper()
	interruptCopy(t, s, dockFile, data, failAt)
	if n := len(resumeFiles(t, s)); n != 2 {
		t.Fatalf("%d resume files after an interrupted copy, want data and state", n)
	}
}

func interruptCopy(t *testing.T, s *Staging, r Resume, data []byte, failAt int64) {
	t.Helper()
	src := newSource(data)
	src.failAt = failAt
	_, err := s.PutResumable(context.Background(), src, int64(len(data)), r, nil)
	var re *ReadError
	if !errors.As(err, &re) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("interrupted copy: %v", err)
	}
}

// finish runs the next attempt and checks that it read want bytes of the
// source, resumed the rest and staged exactly data.
func finish(t *testing.T, s *Staging, data []byte, r Resume, want int64) Blob {
	t.Helper()
	src := newSource(data)
	var committed Blob
	blob, err := s.PutResumable(context.Background(), src, int64(len(data)), r, func(b Blob) error {
		committed = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if blob.SHA256 != sum(data) || blob.Size != int64(len(data)) || committed != blob {
		t.Fatalf("blob %+v, committed %+v, want sha256 %s", blob, committed, sum(data))
	}
	if src.read != want || blob.Resumed != int64(len(data))-want {
		t.Fatalf("read %d bytes of the source, resumed %d; want to read %d", src.read, blob.Resumed, want)
	}
	if err := s.Verify(blob.SHA256, blob.Size); err != nil {
		t.Fatal(err)
	}
	if left := resumeFiles(t, s); len(left) != 0 || s.Reserved() != 0 {
		t.Fatalf("after success: resume files %v, %d bytes reserved", left, s.Reserved())
	}
	return blob
}

func TestPutResumableContinuesWhereItStopped(t *testing.T) {
	s := openResumeStaging(t)
	data := randomBytes(resumeTestSize, 1)
	at := int64(resumeTestSize*3/4 + 12345) // not on a checkpoint
	interrupt(t, s, data, at)
	finish(t, s, data, dockFile, resumeTestSize-at)
}

// A crash after a checkpoint leaves bytes past the recorded offset (written,
// maybe not durable); the resume cuts them off.
func TestPutResumableAfterCrash(t *testing.T) {
	s := openResumeStaging(t)
	data := randomBytes(resumeTestSize, 2)
	at := int64(5<<20 + 777)
	interrupt(t, s, data, at)
	p := s.resumePaths(dockFile.Key)
	f, err := os.OpenFile(p.data, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("garbage after the checkpoint "), 10000))
	f.Close()
	// The crash also came in the middle of the next checkpoint.
	os.WriteFile(p.stateTmp, []byte("CSRS\x01torn"), 0o600)
	finish(t, s, data, dockFile, resumeTestSize-at)
}

func TestPutResumableStartsOver(t *testing.T) {
	data := randomBytes(resumeTestSize, 3)
	other := randomBytes(resumeTestSize-1000, 4)
	tests := []struct {
		name   string
		damage func(t *testing.T, p resumePaths)
		data   []byte
		r      Resume
	}{
		{"camera file changed", nil, other, Resume{Key: dockFile.Key, Identity: []byte("another file")}},
		{"same identity, other size", nil, other, dockFile},
		{"state file damaged", func(t *testing.T, p resumePaths) { flipByte(t, p.state, 20) }, data, dockFile},
		{"state file torn", func(t *testing.T, p resumePaths) { os.Truncate(p.state, 30) }, data, dockFile},
		{"state file gone", func(t *testing.T, p resumePaths) { os.Remove(p.state) }, data, dockFile},
		{"partial shorter than its state", func(t *testing.T, p resumePaths) { os.Truncate(p.data, 1<<20) }, data, dockFile},
		{"partial gone", func(t *testing.T, p resumePaths) { os.Remove(p.data) }, data, dockFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openResumeStaging(t)
			interrupt(t, s, data, 6<<20)
			if tc.damage != nil {
				tc.damage(t, s.resumePaths(dockFile.Key))
			}
			finish(t, s, tc.data, tc.r, int64(len(tc.data)))
		})
	}
}

func flipByte(t *testing.T, path string, i int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[i] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Shutdown leaves the copy resumable at the point it reached.
func TestPutResumableCancelKeepsPartial(t *testing.T) {
	s := openResumeStaging(t)
	data := randomBytes(resumeTestSize, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := newSource(data)
	src.onRead = func(pos int64) {
		if pos >= 3<<20+5 {
			cancel()
		}
	}
	_, err := s.PutResumable(ctx, src, resumeTestSize, dockFile, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	st, err := readResumeState(s.resumePaths(dockFile.Key).state)
	if err != nil || st.Offset != src.read {
		t.Fatalf("state %+v, %v: want offset %d", st, err, src.read)
	}
	finish(t, s, data, dockFile, resumeTestSize-src.read)
}

// A resumed copy reserves only the bytes it has still to write; refused for
// room, it keeps its partial.
func TestPutResumableReservesTheRest(t *testing.T) {
	s := openResumeStaging(t)
	data := randomBytes(resumeTestSize, 6)
	diskOf(t, s, 9<<20)
	interrupt(t, s, data, 6<<20)
	// Under 3 MiB free now.
	if _, err := s.Put(context.Background(), bytes.NewReader(make([]byte, 3<<20)), 3<<20, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("3 MiB with less free: %v, want ErrFull", err)
	}
	diskOf(t, s, 7<<20)
	if _, err := s.PutResumable(context.Background(), newSource(data), resumeTestSize, dockFile, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("2 MiB still to write, under 1 MiB free: %v, want ErrFull", err)
	}
	if n := len(resumeFiles(t, s)); n != 2 {
		t.Fatalf("%d resume files after ErrFull, want the partial kept", n)
	}
	diskOf(t, s, 9<<20)
	finish(t, s, data, dockFile, 2<<20)
	// A fresh copy refused for room leaves nothing behind.
	diskOf(t, s, 0)
	if _, err := s.PutResumable(context.Background(), newSource(data), resumeTestSize, dockFile, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("no room: %v, want ErrFull", err)
	}
	if left := resumeFiles(t, s); len(left) != 0 {
		t.Fatalf("left %v after ErrFull of a fresh copy", left)
	}
}

func TestPutResumableOneCopyPerKey(t *testing.T) {
	s := openResumeStaging(t)
	g := newGateReader(bytes.Repeat([]byte("x"), 100), 10)
	t.Cleanup(func() { release(g) })
	done := make(chan error, 1)
	go func() {
		_, err := s.PutResumable(context.Background(), seekable{g}, 100, dockFile, nil)
		done <- err
	}()
	<-g.waiting
	if _, err := s.PutResumable(context.Background(), newSource(make([]byte, 100)), 100, dockFile, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("second copy of the same source: %v, want ErrBusy", err)
	}
	if err := s.DropResume(dockFile.Key); !errors.Is(err, ErrBusy) {
		t.Fatalf("drop during the copy: %v, want ErrBusy", err)
	}
	release(g)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// seekable lets a reader that is only read from the start stand in for a file.
type seekable struct{ io.Reader }

func (s seekable) Seek(off int64, whence int) (int64, error) {
	if off != 0 || whence != io.SeekStart {
		return 0, errors.New("seekable: only to the start")
	}
	return 0, nil
}

func TestDropResume(t *testing.T) {
	s := openResumeStaging(t)
	data := randomBytes(resumeTestSize, 7)
	interrupt(t, s, data, 4<<20)
	if err := s.DropResume(dockFile.Key); err != nil {
		t.Fatal(err)
	}
	if left := resumeFiles(t, s); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
	if err := s.DropResume("never copied"); err != nil {
		t.Fatalf("drop of nothing: %v", err)
	}
	finish(t, s, data, dockFile, resumeTestSize)
}

func TestPutResumableRefuses(t *testing.T) {
	ctx := context.Background()
	s := openResumeStaging(t)
	if _, err := s.PutResumable(ctx, newSource(nil), -1, dockFile, nil); err == nil {
		t.Fatal("accepted a source of unknown size")
	}
	long := Resume{Key: "k", Identity: make([]byte, MaxIdentity+1)}
	if _, err := s.PutResumable(ctx, newSource(nil), 0, long, nil); err == nil {
		t.Fatal("accepted an identity longer than MaxIdentity")
	}
	// A source longer than it said cannot be resumed into the right copy.
	data := randomBytes(3<<20, 8)
	if _, err := s.PutResumable(ctx, newSource(data), 2<<20, dockFile, nil); !errors.Is(err, ErrShortCopy) {
		t.Fatalf("err %v, want ErrShortCopy", err)
	}
	if left := resumeFiles(t, s); len(left) != 0 {
		t.Fatalf("left %v after a short copy", left)
	}
}

// Start-up keeps a partial whose camera may come back and removes one that
// waited longer than ResumeMaxAge, saying so.
func TestReconcileExpiresResumablePartials(t *testing.T) {
	s := openResumeStaging(t)
	c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return catalogtest.T0 }})
	data := randomBytes(2<<20, 9)
	fresh, old := Resume{Key: "fresh", Identity: []byte("a")}, Resume{Key: "old", Identity: []byte("b")}
	interruptCopy(t, s, fresh, data, 1<<20)
	interruptCopy(t, s, old, data, 1<<20)
	age := func(r Resume, d time.Duration) {
		p := s.resumePaths(r.Key)
		for _, f := range []string{p.data, p.state} {
			if err := os.Chtimes(f, catalogtest.T0.Add(-d), catalogtest.T0.Add(-d)); err != nil {
				t.Fatal(err)
			}
		}
	}
	age(fresh, ResumeMaxAge-time.Hour)
	age(old, ResumeMaxAge+time.Hour)
	var logs bytes.Buffer
	rep, err := Reconcile(c, s, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{s.resumePaths(old.Key).data}; !slices.Equal(rep.PartialRemoved, want) {
		t.Fatalf("removed %v, want %v", rep.PartialRemoved, want)
	}
	if !strings.Contains(logs.String(), s.resumePaths(old.Key).data) {
		t.Fatalf("removal not logged:\n%s", logs.String())
	}
	if n := len(resumeFiles(t, s)); n != 2 {
		t.Fatalf("%d resume files, want the fresh partial's two", n)
	}
	finish(t, s, data, fresh, 1<<20)
	finish(t, s, data, old, 2<<20)
}
