package dock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/hardware/camera"
	"custodian/ingest"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type rig struct {
	t       *testing.T
	root    string // dock root
	data    string
	clock   *clock
	cat     *catalog.Catalog
	staging *staging.Staging
	metrics *ingest.Metrics
	dock    *Dock
	cfg     Config
	env     ingest.Env
}

func newRig(t *testing.T, deleteAfter bool) *rig {
	t.Helper()
	r := &rig{t: t, root: t.TempDir(), data: t.TempDir(), clock: &clock{t: time.Now()}}
	var err error
	r.cat, err = catalog.Open(filepath.Join(r.data, "custodian.db"), catalog.Options{Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cat.Close() })
	r.staging, err = staging.Open(filepath.Join(r.data, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	profiles, _ := camera.NewProfiles(nil)
	r.metrics = ingest.NewMetrics(prometheus.NewRegistry())
	r.cfg = Config{ID: "dock-a", Path: r.root, Profile: profiles["gat947"], DeleteAfterIngest: deleteAfter, Settle: 5 * time.Second}
	r.env = ingest.Env{Station: "st01", Location: time.UTC, Catalog: r.cat, Staging: r.staging,
		Log: slog.New(slog.DiscardHandler), Metrics: r.metrics, Now: r.clock.Now,
		Devices: camera.Devices{{Serial: "J0123456", Officer: "012345"}}}
	r.dock = New(r.cfg, r.env)
	return r
}

// restart builds a new dock on the same catalog, as after a crash.
func (r *rig) restart() { r.dock = New(r.cfg, r.env) }

// write puts a file on a docked camera, with a plausible mtime for its name.
func (r *rig) write(rel string, data []byte) string {
	p := filepath.Join(r.root, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// scanSettled runs two scans a settle period apart: the first sees files, the second takes them.
func (r *rig) scanSettled() {
	r.dock.Scan(context.Background(), nil)
	r.clock.Add(6 * time.Second)
	r.dock.Scan(context.Background(), nil)
}

func (r *rig) all() []catalog.Recording {
	recs, err := r.cat.List(catalog.Filter{})
	if err != nil {
		r.t.Fatal(err)
	}
	return recs
}

func shaOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

const name1 = "J0123456_012345_20261121083015_0001.MP4"

func TestDockIngestsAndReleases(t *testing.T) {
	r := newRig(t, true)
	data := bytes.Repeat([]byte{7}, 3<<20)
	src := r.write("cam1/DCIM/100MEDIA/"+name1, data)
	imp := r.write("cam1/DCIM/100MEDIA/J0123456_012345_20261121091500_0002_IMP.MP4", []byte("important"))
	r.scanSettled()

	recs := r.all()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	for _, rec := range recs {
		if rec.State != catalog.StateVerified || rec.ReleasedAt.IsZero() || rec.Officer != "012345" || rec.Device != "J0123456" {
			t.Errorf("record %+v", rec)
		}
		if err := r.staging.Verify(rec.SHA256, rec.Size); err != nil {
			t.Errorf("staged copy: %v", err)
		}
	}
	got, _, _ := r.cat.FindContent("J0123456", name1, shaOf(data))
	if got.Important || got.Kind != "video" || got.Seq != 1 || got.RelPath != "DCIM/100MEDIA/"+name1 {
		t.Errorf("record %+v", got)
	}
	if !recs[0].Important && !recs[1].Important {
		t.Error("important flag lost")
	}
	if exists(src) || exists(imp) {
		t.Error("sources not released after verification")
	}
	if n := testutil.ToFloat64(r.metrics.Files.WithLabelValues("dock")); n != 2 {
		t.Errorf("files metric %v", n)
	}
	// Released only after the catalog said verified: the custody trail order.
	events, _ := r.cat.RecentEvents(10)
	var order []string
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Recording == got.ID {
			order = append(order, events[i].Type)
		}
	}
	if len(order) != 2 || order[0] != catalog.EventIngested || order[1] != catalog.EventReleased {
		t.Errorf("custody events %v", order)
	}
}

func TestDockWaitsForFileToSettle(t *testing.T) {
	r := newRig(t, true)
	p := r.write("cam1/"+name1, []byte("part"))
	ctx := context.Background()
	r.dock.Scan(ctx, nil)
	r.clock.Add(3 * time.Second)
	// Still growing.
	os.WriteFile(p, []byte("part two"), 0o644)
	r.dock.Scan(ctx, nil)
	r.clock.Add(3 * time.Second)
	r.dock.Scan(ctx, nil)
	if len(r.all()) != 0 || !exists(p) {
		t.Fatal("took a file that was still being written")
	}
	r.clock.Add(3 * time.Second)
	r.dock.Scan(ctx, nil)
	if recs := r.all(); len(recs) != 1 || recs[0].Size != 8 {
		t.Fatalf("records %+v", recs)
	}
}

func TestDockCompletionMarker(t *testing.T) {
	r := newRig(t, true)
	profiles, _ := camera.NewProfiles([]camera.ProfileSpec{{Name: "marked", Pattern: `^.+$`, DoneSuffix: ".done"}})
	r.cfg.Profile = profiles["marked"]
	r.restart()
	p := r.write("cam1/clip.mp4", []byte("x"))
	r.write("cam1/clip.mp4.done", nil)
	r.dock.Scan(context.Background(), nil) // no settle wait with a marker
	if len(r.all()) != 1 || exists(p) || exists(p+".done") {
		t.Fatal("marker not honoured")
	}
}

func TestDockKeepsFilesWhenNotDeleting(t *testing.T) {
	r := newRig(t, false)
	p := r.write("cam1/"+name1, []byte("stay"))
	r.scanSettled()
	r.clock.Add(time.Minute)
	r.dock.Scan(context.Background(), nil)
	r.restart()
	r.scanSettled()
	if recs := r.all(); len(recs) != 1 || !recs[0].ReleasedAt.IsZero() || !exists(p) {
		t.Fatalf("records %+v, source exists %v", recs, exists(p))
	}
}

func TestDockHostileEntries(t *testing.T) {
	r := newRig(t, true)
	outside := filepath.Join(t.TempDir(), "secret.mp4")
	os.WriteFile(outside, []byte("outside the dock"), 0o644)
	os.MkdirAll(filepath.Join(r.root, "cam1"), 0o755)
	os.Symlink(outside, filepath.Join(r.root, "cam1", "link.mp4"))
	os.Symlink(filepath.Dir(outside), filepath.Join(r.root, "cam1", "linkdir"))
	os.Symlink(filepath.Dir(outside), filepath.Join(r.root, "cam2"))
	if err := syscall.Mkfifo(filepath.Join(r.root, "cam1", "fifo.mp4"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A device node, when we may make one.
	syscall.Mknod(filepath.Join(r.root, "cam1", "null.mp4"), syscall.S_IFCHR|0o644, 0x0103)
	odd := []string{"bad\xff\xfename.mp4", "..", "with\nnewline.mp4", "执法记录仪_0001.mp4", "back\\slash..mp4"}
	for _, n := range odd {
		if n == ".." {
			continue
		}
		r.write("cam1/"+n, []byte(n))
	}
	r.write("cam1/"+name1, nil) // zero bytes
	deep := "cam1"
	for range DefaultMaxDepth + 2 {
		deep += "/d"
	}
	r.write(deep+"/deep.mp4", []byte("deep"))

	done := make(chan struct{})
	go func() { r.scanSettled(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("scan blocked (opened a FIFO?)")
	}
	recs := r.all()
	if len(recs) != 5 {
		t.Fatalf("%d records, want 5 (4 odd names + the empty file)", len(recs))
	}
	for _, rec := range recs {
		if rec.SHA256 == shaOf([]byte("outside the dock")) {
			t.Fatal("followed a symlink out of the dock")
		}
		switch {
		case rec.Size == 0 && !rec.HasFlag(catalog.FlagEmpty):
			t.Errorf("empty file not flagged: %+v", rec)
		case rec.Name == `bad\xff\xfename.mp4` && (string(rec.NameRaw) != "bad\xff\xfename.mp4" || !rec.HasFlag(catalog.FlagNameNotUTF8)):
			t.Errorf("raw name not kept: %+v", rec)
		case rec.Name == `with\u{a}newline.mp4` && !rec.HasFlag(catalog.FlagUnparsed):
			t.Errorf("not flagged unparsed: %+v", rec)
		}
	}
	if !exists(outside) || !exists(filepath.Join(r.root, "cam1", "fifo.mp4")) || !exists(filepath.Join(r.root, "cam1", "link.mp4")) {
		t.Error("a skipped entry or its target was touched")
	}
	if n := testutil.ToFloat64(r.metrics.Skipped.WithLabelValues("symlink")); n != 3 {
		t.Errorf("symlinks skipped %v, want 3", n)
	}
	if n := testutil.ToFloat64(r.metrics.Skipped.WithLabelValues("too_deep")); n != 1 {
		t.Errorf("too deep skipped %v, want 1", n)
	}
}

func TestDockUnregisteredAndUnparsed(t *testing.T) {
	r := newRig(t, true)
	r.write("X9999999/DEVICE.TXT", []byte("X9999999\n"))
	r.write("X9999999/VID_0001.MP4", []byte("v"))
	r.write("cam1/K7777777_054321_20261121083015_0001.MP4", []byte("k"))
	r.scanSettled()
	byName := map[string]catalog.Recording{}
	for _, rec := range r.all() {
		byName[rec.Name] = rec
	}
	v := byName["VID_0001.MP4"]
	if v.Device != "X9999999" || !v.HasFlag(catalog.FlagUnparsed) || !v.HasFlag(catalog.FlagUnregistered) || !v.HasFlag(catalog.FlagOfficerUnknown) {
		t.Errorf("unparsed: %+v", v)
	}
	k := byName["K7777777_054321_20261121083015_0001.MP4"]
	if k.Device != "K7777777" || k.Officer != "054321" || !k.HasFlag(catalog.FlagUnregistered) {
		t.Errorf("unregistered: %+v", k)
	}
	if !exists(filepath.Join(r.root, "X9999999/DEVICE.TXT")) {
		t.Error("DEVICE.TXT is the camera's, not a recording")
	}
}

func TestDockClockReset(t *testing.T) {
	r := newRig(t, true)
	p := r.write("cam1/J0123456_012345_20000101000012_0001.MP4", []byte("reset"))
	mtime := time.Date(2000, 1, 1, 0, 5, 0, 0, time.UTC)
	os.Chtimes(p, mtime, mtime)
	r.scanSettled()
	rec := r.all()[0]
	if !rec.HasFlag(catalog.FlagClockSuspect) || !rec.CameraTime.Equal(time.Date(2000, 1, 1, 0, 0, 12, 0, time.UTC)) {
		t.Fatalf("%+v", rec)
	}
	// Retention must never run from a reset clock: the start falls back to receipt.
	if !rec.StartedAt.Equal(rec.ReceivedAt) {
		t.Fatalf("started %v, received %v", rec.StartedAt, rec.ReceivedAt)
	}
}

// A camera unplugged mid-copy: the read fails, nothing is recorded, the
// source is untouched, and the file is taken on re-dock.
func TestDockUnpluggedMidCopy(t *testing.T) {
	r := newRig(t, true)
	data := bytes.Repeat([]byte("x"), 1<<20)
	p := r.write("cam1/"+name1, data)
	r.dock.Scan(context.Background(), nil)
	r.clock.Add(6 * time.Second)
	// Simulate the unplug: the file is gone between settle and open.
	os.Rename(p, p+".away")
	r.dock.Scan(context.Background(), nil)
	if len(r.all()) != 0 {
		t.Fatal("recorded a copy that never completed")
	}
	if parts, _ := r.staging.Partial(); len(parts) != 0 {
		t.Fatal("partial copy left")
	}
	os.Rename(p+".away", p) // re-docked
	r.clock.Add(10 * time.Minute)
	r.scanSettled()
	if recs := r.all(); len(recs) != 1 || exists(p) {
		t.Fatalf("after re-dock: %d records, source exists %v", len(recs), exists(p))
	}
}

// The crash instants of a copy, reproduced as the state they leave on disk;
// a restart must finish the job, lose nothing and count nothing twice.
func TestDockCrashRecovery(t *testing.T) {
	data := bytes.Repeat([]byte("evidence"), 1<<17)
	sum := shaOf(data)
	tests := []struct {
		name  string
		crash func(r *rig, src string)
	}{
		{"mid-copy: partial temp file", func(r *rig, src string) {
			os.WriteFile(filepath.Join(r.staging.Dir(), "tmp", ".partial-42"), data[:1000], 0o640)
		}},
		{"after rename, before catalog commit", func(r *rig, src string) {
			os.MkdirAll(filepath.Dir(r.staging.Path(sum)), 0o750)
			os.WriteFile(r.staging.Path(sum), data, 0o640)
		}},
		{"after catalog commit, before delete", func(r *rig, src string) {
			r.cfg.DeleteAfterIngest = false
			r.restart()
			r.scanSettled()
			r.cfg.DeleteAfterIngest = true
		}},
		{"after delete, before its record", func(r *rig, src string) {
			r.cfg.DeleteAfterIngest = false
			r.restart()
			r.scanSettled()
			id := r.all()[0].ID
			r.cat.Update(id, func(x *catalog.Recording) error { x.PendingRelease = []byte(src); return nil })
			os.Remove(src)
			r.cfg.DeleteAfterIngest = true
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, true)
			src := r.write("cam1/"+name1, data)
			tc.crash(r, src)
			if _, err := staging.Reconcile(r.cat, r.staging, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			r.restart()
			r.scanSettled()
			recs := r.all()
			if len(recs) != 1 || recs[0].SHA256 != sum || recs[0].ReleasedAt.IsZero() {
				t.Fatalf("records %+v", recs)
			}
			if exists(src) {
				t.Fatal("source not released")
			}
			if err := r.staging.Verify(sum, int64(len(data))); err != nil {
				t.Fatal(err)
			}
			if parts, _ := r.staging.Partial(); len(parts) != 0 {
				t.Fatal("partial copy left")
			}
			if p, _ := r.cat.PendingReleases("dock-a"); len(p) != 0 || len(recs[0].PendingRelease) != 0 {
				t.Fatal("release left pending")
			}
			var released int
			events, _ := r.cat.RecentEvents(50)
			for _, e := range events {
				if e.Type == catalog.EventReleased {
					released++
				}
			}
			if released != 1 {
				t.Fatalf("%d released events, want 1", released)
			}
		})
	}
}

// A known file whose staged copy went bad must not be released on the
// catalog's word alone.
func TestDockDoesNotReleaseOnBadStagedCopy(t *testing.T) {
	r := newRig(t, false)
	data := []byte("evidence")
	src := r.write("cam1/"+name1, data)
	r.scanSettled()
	os.WriteFile(r.staging.Path(shaOf(data)), []byte("evidencE"), 0o640)
	r.cfg.DeleteAfterIngest = true
	r.restart()
	r.scanSettled()
	if !exists(src) {
		t.Fatal("released a source whose only other copy is corrupt")
	}
	if n := testutil.ToFloat64(r.metrics.Errors.WithLabelValues("dock", ingest.ErrKindRelease)); n != 1 {
		t.Fatalf("release errors %v", n)
	}
}

func TestDockStagingFull(t *testing.T) {
	r := newRig(t, true)
	// A staging area that cannot be written stands in for a full disk; the
	// real ENOSPC path is exercised in storage and e2e.
	tmp := filepath.Join(r.staging.Dir(), "tmp")
	os.Chmod(tmp, 0o500)
	defer os.Chmod(tmp, 0o750)
	if os.Geteuid() == 0 {
		os.RemoveAll(tmp)
		os.WriteFile(tmp, nil, 0o400) // root ignores modes; a file where a dir should be fails for anyone
		defer os.Remove(tmp)
	}
	src := r.write("cam1/"+name1, []byte("keep me"))
	r.scanSettled()
	if len(r.all()) != 0 || !exists(src) {
		t.Fatal("a failed staging write lost or recorded the file")
	}
	if n := testutil.ToFloat64(r.metrics.Errors.WithLabelValues("dock", ingest.ErrKindStage)); n != 1 {
		t.Fatalf("stage errors %v", n)
	}
	if os.Geteuid() == 0 {
		os.Remove(tmp)
	}
	os.MkdirAll(tmp, 0o750)
	os.Chmod(tmp, 0o750)
	r.clock.Add(10 * time.Minute) // past the retry backoff
	r.scanSettled()
	if len(r.all()) != 1 || exists(src) {
		t.Fatal("not ingested once staging recovered")
	}
}

func TestDockRunStopsOnCancel(t *testing.T) {
	r := newRig(t, true)
	r.cfg.Settle = 10 * time.Millisecond
	r.env.Now = time.Now
	r.restart()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.dock.Run(ctx) }()
	src := r.write("cam1/"+name1, []byte("live"))
	deadline := time.Now().Add(10 * time.Second)
	for exists(src) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if exists(src) || len(r.all()) != 1 {
		t.Fatal("fsnotify-driven ingest did not happen")
	}
	if st := r.dock.Status(); len(st.Slots) != 1 || st.Slots[0].DoneFiles != 1 {
		t.Fatalf("status %+v", st)
	}
}
