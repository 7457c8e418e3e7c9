package dock

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"custodian/storage/catalog"
)

// unplug reads a camera file until limit bytes have been read in all,
// then fails as an unplugged USB camera does; it counts every byte read.
type unplug struct {
	f     *os.File
	limit int64 // < 0: never fails
	read  *atomic.Int64
}

func (u unplug) Read(p []byte) (int, error) {
	if u.limit >= 0 {
		left := u.limit - u.read.Load()
		if left <= 0 {
			return 0, syscall.EIO
		}
		p = p[:min(int64(len(p)), left)]
	}
	n, err := u.f.Read(p)
	u.read.Add(int64(n))
	return n, err
}

func (u unplug) Seek(off int64, whence int) (int64, error) { return u.f.Seek(off, whence) }

// A 64 MiB file unplugged at 75%: the next docking reads less than 30% of
// it from the camera, and the recording is whole and verified.
func TestDockResumesAfterUnplug(t *testing.T) {
	r := newRig(t, true)
	data := make([]byte, 64<<20)
	rng := rand.NewChaCha8([32]byte{7})
	rng.Read(data)
	src := r.write("cam1/"+name1, data)

	var read atomic.Int64
	// Unplugged when 75% of the file is copied: after the first and last
	// MiB the identity reads, and 48 MiB of the copy.
	limit := int64(len(data))*3/4 + 2*resumeWindow
	r.dock.source = func(f *os.File) io.ReadSeeker { return unplug{f: f, limit: limit, read: &read} }
	r.scanSettled()
	if len(r.all()) != 0 || !exists(src) {
		t.Fatal("an interrupted copy was recorded or released")
	}
	if read.Load() < limit {
		t.Fatalf("read %d before the unplug", read.Load())
	}

	read.Store(0)
	r.dock.source = func(f *os.File) io.ReadSeeker { return unplug{f: f, limit: -1, read: &read} }
	r.clock.Add(10 * time.Minute) // re-docked, past the retry wait
	r.scanSettled()
	recs := r.all()
	if len(recs) != 1 || exists(src) || recs[0].SHA256 != shaOf(data) || recs[0].State != catalog.StateVerified {
		t.Fatalf("after re-dock: %+v, source left %v", recs, exists(src))
	}
	if frac := float64(read.Load()) / float64(len(data)); frac >= 0.30 {
		t.Fatalf("second attempt read %.1f%% of the file from the camera, want < 30%%", 100*frac)
	} else {
		t.Logf("second attempt read %.1f%% of the file from the camera", 100*frac)
	}
	if err := r.staging.Verify(shaOf(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

// A different file under the same name after the unplug: the copy starts
// over and records the new bytes.
func TestDockResumeRefusesOtherFile(t *testing.T) {
	r := newRig(t, true)
	data := bytes.Repeat([]byte("a"), 20<<20)
	src := r.write("cam1/"+name1, data)
	var read atomic.Int64
	r.dock.source = func(f *os.File) io.ReadSeeker { return unplug{f: f, limit: 10 << 20, read: &read} }
	r.scanSettled()
	other := bytes.Repeat([]byte("b"), 20<<20)
	os.WriteFile(src, other, 0o644)
	r.dock.source = nil
	r.clock.Add(10 * time.Minute)
	r.scanSettled()
	if recs := r.all(); len(recs) != 1 || recs[0].SHA256 != shaOf(other) {
		t.Fatalf("records %+v", recs)
	}
}
