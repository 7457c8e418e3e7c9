package dock

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/storage/catalog"
)

// A new file with the device, name, size and time of a catalogued one (a
// reset clock, FAT's 2-second times) is a new recording, not left behind.
func TestDockNameReused(t *testing.T) {
	r := newRig(t, true)
	mtime := time.Date(2026, 11, 21, 8, 30, 15, 0, time.UTC)
	p := r.write("cam1/"+name1, []byte("first"))
	os.Chtimes(p, mtime, mtime)
	r.scanSettled()
	p = r.write("cam1/"+name1, []byte("other"))
	os.Chtimes(p, mtime, mtime)
	r.clock.Add(time.Minute)
	r.scanSettled()

	recs := r.all()
	if len(recs) != 2 || exists(p) {
		t.Fatalf("%d records, source left %v", len(recs), exists(p))
	}
	second := recs[1]
	if recs[0].ID > recs[1].ID {
		second = recs[0]
	}
	if second.SHA256 != shaOf([]byte("other")) || !second.HasFlag(catalog.FlagNameReused) || second.ReleasedAt.IsZero() {
		t.Fatalf("second recording %+v", second)
	}
}

// The same file seen again on a dock that keeps files is proven by hash
// once and then left alone; it does not count as waiting.
func TestDockKeptFileNotPending(t *testing.T) {
	r := newRig(t, false)
	r.write("cam1/"+name1, []byte("kept"))
	r.scanSettled()
	r.restart()
	r.scanSettled()
	st := r.dock.Status().Slots
	if len(r.all()) != 1 || len(st) != 1 || st[0].PendingFiles != 0 || st[0].KeptFiles != 1 || st[0].State != SlotDone {
		t.Fatalf("status %+v", st)
	}
}

// A folder swapped for a link between the scan that found a file and its
// copy: nothing outside the dock is read, and the entry is reported.
func TestDockSymlinkSwapMidBatch(t *testing.T) {
	r := newRig(t, true)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, name1), []byte("outside the dock"), 0o644)
	r.write("cam1/DCIM/"+name1, []byte("inside the dock!"))
	ctx := context.Background()
	r.dock.Scan(ctx, nil)
	r.clock.Add(6 * time.Second)
	r.dock.scan(ctx, nil) // queued
	os.Rename(filepath.Join(r.root, "cam1", "DCIM"), filepath.Join(r.root, "cam1", "moved"))
	os.Symlink(outside, filepath.Join(r.root, "cam1", "DCIM"))
	r.dock.drain(ctx)

	for _, rec := range r.all() {
		if rec.SHA256 == shaOf([]byte("outside the dock")) {
			t.Fatal("read a file outside the dock")
		}
	}
	if !exists(filepath.Join(outside, name1)) {
		t.Fatal("touched a file outside the dock")
	}
	if n := testutil.ToFloat64(r.metrics.Skipped.WithLabelValues(leftOutside)); n != 1 {
		t.Errorf("outside skipped %v, want 1", n)
	}
	if st := r.dock.Status().Slots; len(st) != 1 || st[0].Left[leftOutside] != 1 || st[0].LastError == "" {
		t.Errorf("status %+v", st)
	}
	// The next scan sees the link as a link, and the moved folder's file.
	r.clock.Add(10 * time.Minute)
	r.scanSettled()
	if recs := r.all(); len(recs) != 1 || recs[0].SHA256 != shaOf([]byte("inside the dock!")) {
		t.Fatalf("records %+v", recs)
	}
	if st := r.dock.Status().Slots; st[0].Left[leftSymlink] != 1 {
		t.Errorf("status %+v", st)
	}
}

func deepPath(slot string, depth int) string {
	return slot + strings.Repeat("/d", depth-2) + "/" + name1
}

// Files deep in a camera's folders are taken; beyond max_depth they are
// reported as left on the camera, never silently.
func TestDockDepth(t *testing.T) {
	r := newRig(t, true)
	r.write(deepPath("cam1", 30), []byte("thirty deep"))
	far := r.write(deepPath("cam2", 40), []byte("forty deep"))
	r.scanSettled()
	if recs := r.all(); len(recs) != 1 || recs[0].Slot != "cam1" {
		t.Fatalf("records %+v", recs)
	}
	if !exists(far) {
		t.Fatal("a file beyond the limit was touched")
	}
	st := r.dock.Status().Slots
	if len(st) != 2 || st[1].Slot != "cam2" || st[1].Left[leftTooDeep] != 1 {
		t.Fatalf("status %+v", st)
	}
	if n := testutil.ToFloat64(r.metrics.Left.WithLabelValues("dock-a", leftTooDeep)); n != 1 {
		t.Errorf("left too_deep %v", n)
	}
	r.cfg.MaxDepth = 48
	r.restart()
	r.scanSettled()
	if len(r.all()) != 2 || exists(far) {
		t.Fatal("not taken with max_depth 48")
	}
	if n := testutil.ToFloat64(r.metrics.Left.WithLabelValues("dock-a", leftTooDeep)); n != 0 {
		t.Errorf("left too_deep %v after", n)
	}
}

// A file placed directly in the dock root is taken as the loose slot's.
func TestDockLooseFile(t *testing.T) {
	r := newRig(t, true)
	p := r.write(name1, []byte("loose"))
	r.scanSettled()
	recs := r.all()
	if len(recs) != 1 || exists(p) || recs[0].Slot != LooseSlot || recs[0].RelPath != name1 || recs[0].Device != "J0123456" {
		t.Fatalf("records %+v, source left %v", recs, exists(p))
	}
}

// Cameras finish one by one: the least to copy first, each camera's files
// together, and a camera shows done the moment its last file is released.
func TestDockCamerasFinishOneByOne(t *testing.T) {
	r := newRig(t, true)
	r.cfg.Copies = 1
	r.restart()
	sizes := map[string]int{"cam1": 3, "cam2": 1, "cam3": 2}
	for slot, n := range sizes {
		for i := range n {
			r.write(slot+"/"+camName(time.Date(2026, 11, 21, 8, 0, i, 0, time.UTC), i+1), []byte(slot+strings.Repeat("x", i)))
		}
	}
	var mu sync.Mutex
	var order []string // slots in the order their files are read
	r.dock.source = func(f *os.File) io.ReadSeeker {
		mu.Lock()
		defer mu.Unlock()
		rel, _ := filepath.Rel(r.root, f.Name())
		order = append(order, strings.Split(rel, "/")[0])
		return f
	}
	r.scanSettled()
	want := []string{"cam2", "cam3", "cam3", "cam1", "cam1", "cam1"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for _, st := range r.dock.Status().Slots {
		if st.State != SlotDone || st.PendingFiles != 0 || st.DoneFiles != sizes[st.Slot] {
			t.Errorf("slot %+v", st)
		}
	}
}

// A camera docked during a long offload is served at once, not after it:
// the running daemon's scans go on while copies run, the camera with less
// to copy goes first, and the first camera's stream of deletions does not
// hold the scan back.
func TestDockCameraDockedDuringOffload(t *testing.T) {
	r := newRig(t, true)
	r.cfg.Settle = 50 * time.Millisecond
	r.cfg.Copies = 1
	r.env.Now = time.Now
	r.restart()
	base := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	for i := range 1500 {
		r.write("cam1/"+camName(base.Add(time.Duration(i)*time.Second), i+1), []byte(strings.Repeat("x", 1000+i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- r.dock.Run(ctx) }()
	left := func(slot string) int {
		ents, _ := os.ReadDir(filepath.Join(r.root, slot))
		return len(ents)
	}
	deadline := time.Now().Add(30 * time.Second)
	for left("cam1") > 1400 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	late := r.write("cam2/"+camName(base, 1), []byte("docked late"))
	for exists(late) && left("cam1") > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if exists(late) || left("cam1") < 500 {
		t.Fatalf("the late camera waited: its file still there %v, %d of cam1's files left", exists(late), left("cam1"))
	}
	t.Logf("late camera done with %d of cam1's 1500 files left", left("cam1"))
	cancel()
	<-errc
}
