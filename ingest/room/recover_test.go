package room

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"
	"custodian/internal/digest"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

func TestRecoverCutsToLastCompleteFragment(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-9", "rtsp://127.0.0.1:1/none")
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	seg := leftOpen(t, cfg, t0, 4)
	path, good := seg.Path, seg.Size
	// A crash in the middle of writing the next fragment: half a box on disk.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 0x10, 0, 'm', 'o', 'o', 'f', 1, 2, 3})
	f.Close()

	// A segment created just before the crash: an init, no media.
	init, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	init = init[:fmp4test.InitSize(init)]
	empty := filepath.Join(filepath.Dir(path), fmp4.SegmentName(cfg.ID, t0.Add(time.Hour)))
	if err := os.WriteFile(empty, init, 0o640); err != nil {
		t.Fatal(err)
	}

	r := New(cfg, e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "recovered segment", 10*time.Second, func() bool { return len(roomRecordings(t, e, cfg.ID)) == 1 })
	stop()
	rec := roomRecordings(t, e, cfg.ID)[0]
	if !rec.HasFlag(catalog.FlagRecovered) || rec.Size != good || rec.State != catalog.StateVerified {
		t.Errorf("recovered %+v, want flagged recovered, size %d", rec, good)
	}
	if !rec.StartedAt.Equal(t0) || rec.EndedAt.Sub(t0) < 3*time.Second || rec.EndedAt.Sub(t0) > 4*time.Second {
		t.Errorf("recovered span %s - %s", rec.StartedAt, rec.EndedAt)
	}
	if len(rec.Codecs) != 2 {
		t.Errorf("codecs %v", rec.Codecs)
	}
	for _, p := range []string{path, empty} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still in the open directory: %v", p, err)
		}
	}
}

// A crash after a segment's record was written but before its bytes moved
// into staging: start-up marks the record missing, recovery seals the same
// bytes onto that record, and nothing is catalogued twice or left orphaned.
func TestSealCrashBeforeStaging(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-8", "rtsp://127.0.0.1:1/none")
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := leftOpen(t, cfg, t0, 4).Path
	sha, size, err := digest.SumFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Catalog.Add(catalog.Recording{Station: "st01", Source: catalog.SourceRoom, SourceID: cfg.ID,
		Name: filepath.Base(path), SHA256: sha, Size: size, StartedAt: t0, State: catalog.StateStaged},
		catalog.Event{Type: catalog.EventIngested}); err != nil {
		t.Fatal(err)
	}
	if rep, err := staging.Reconcile(e.Catalog, e.Staging, e.Log); err != nil || len(rep.Missing) != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}

	r := New(cfg, e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "the segment sealed onto its record", 10*time.Second, func() bool {
		recs := roomRecordings(t, e, cfg.ID)
		return len(recs) == 1 && recs[0].State == catalog.StateVerified
	})
	stop()
	if recs := roomRecordings(t, e, cfg.ID); len(recs) != 1 || recs[0].SHA256 != sha {
		t.Fatalf("records %+v", recs)
	}
	if err := e.Staging.Verify(sha, size); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("segment left in the open directory: %v", err)
	}
}

// leftOpen writes seconds of media into a segment of the room in its open
// directory and abandons it there, as a crash would; it returns the
// segment as it was then.
func leftOpen(t *testing.T, cfg Config, t0 time.Time, seconds int) fmp4.Segment {
	t.Helper()
	open := filepath.Join(cfg.Dir, "open")
	if err := os.MkdirAll(open, 0o750); err != nil {
		t.Fatal(err)
	}
	s := fmp4.NewSegmenter(open, cfg.ID, time.Hour, time.Second, fmp4test.Tracks())
	fmp4test.Feed(t, s, t0, seconds)
	cur := s.Current()
	s.Abandon()
	return cur
}
