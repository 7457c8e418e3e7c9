package export

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"
	"custodian/storage/upload"
)

// rig is a station with case C-1: one dock recording and two interview
// segments, the second evicted locally and held only by the archive, and
// a trail partly shipped to the archive.
type rig struct {
	cat   *catalog.Catalog
	stage *staging.Staging
	store *archivetest.Fake
	x     *Exporter
}

func newRig(t testing.TB) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{cat: catalogtest.Open(t, catalog.Options{}), store: archivetest.NewFake(archivetest.PartSize)}
	var err error
	if r.stage, err = staging.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t0 := catalogtest.T0
	dock := catalogtest.Record("DEV1", "100234", "J0123456_100234_20261121083000_0001.MP4", "", t0)
	dock.Cases, dock.CameraClockOffset, dock.CameraClockBasis = []string{"C-1"}, 90*time.Second, catalog.ClockAhead
	seg := catalog.Recording{Station: "st01", Source: catalog.SourceRoom, SourceID: "room-1", Name: "seg.mp4", Ext: "mp4",
		StartedAt: t0.Add(time.Hour), EndedAt: t0.Add(time.Hour + 10*time.Minute), State: catalog.StateVerified,
		Case: "C-1", Subject: "S <b>&</b>", Cases: []string{"C-1"}, Officers: []string{"100234", "100235"}, Sessions: []uint64{1}}
	other := catalogtest.Record("DEV2", "100999", "other.MP4", "", t0)
	for i, rec := range []catalog.Recording{dock, seg, seg, other} {
		data, sha := archivetest.Blob(uint64(i+1), 3000+i)
		rec.SHA256, rec.Size, rec.ReceivedAt = sha, int64(len(data)), t0.Add(time.Duration(i)*time.Minute)
		if i == 2 { // evicted: only the archive holds it
			info, err := r.store.Put(ctx, archivetest.Request("st01/rec/"+sha, data, sha))
			if err != nil {
				t.Fatal(err)
			}
			rec.State, rec.ArchiveKey, rec.ArchiveVersion, rec.EvictedAt = catalog.StateArchived, info.Key, info.VersionID, t0
		} else if _, err := r.stage.Put(ctx, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.cat.Add(rec, catalog.Event{Type: catalog.EventIngested}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.cat.Append(catalog.Event{Type: catalog.EventConfig, Detail: "unrelated"}); err != nil {
		t.Fatal(err)
	}
	// The first five events go to the archive; the rest stay open.
	if _, err := upload.ShipAudit(ctx, r.cat, r.store, "st01", t0.AddDate(1, 0, 0), time.Now().Add(time.Hour), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.cat.Add(catalogtest.Record("DEV3", "1", "late.MP4", catalogtest.SHA('9'), t0), catalog.Event{Type: catalog.EventIngested}); err != nil {
		t.Fatal(err)
	}
	r.x = &Exporter{Catalog: r.cat, Blobs: r.stage, Store: r.store, Station: "st01", TempDir: t.TempDir(),
		Now: func() time.Time { return t0.AddDate(0, 1, 0) }}
	return r
}

func (r *rig) export(t testing.TB) (string, Manifest) {
	t.Helper()
	recs, err := r.x.Plan("C-1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := r.x.Export(context.Background(), Request{Case: "C-1", By: "sup1", Why: "court <order> 7"}, recs, DirSink{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func TestExportVerifies(t *testing.T) {
	r := newRig(t)
	dir, m := r.export(t)
	rep, err := VerifyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Recordings != 3 || rep.Anchored != 1 || rep.Segments != 2 {
		t.Errorf("report %+v, want 3 recordings, 2 segments, 1 anchored", rep)
	}
	from := []string{}
	for _, rec := range m.Recordings {
		from = append(from, rec.FetchedFrom)
		if len(rec.Events) != 2 || rec.LockMode == "" && rec.ArchiveKey != "" {
			t.Errorf("recording %d: events %v, lock %q", rec.ID, rec.Events, rec.LockMode)
		}
	}
	if !slices.Equal(from, []string{"staging", "staging", "archive"}) {
		t.Errorf("fetched from %v", from)
	}
	// The export is in the trail, by whom and why, for each recording.
	events, _, err := r.cat.EventLines(func(e catalog.Event) bool { return e.Type == EventExported })
	if err != nil || len(events) != 3 || events[0].Actor != "sup1" || events[0].Detail != "case C-1: court <order> 7" {
		t.Fatalf("exported events %+v, %v", events, err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, IndexName))
	if bytes.Contains(page, []byte("<order>")) || bytes.Contains(page, []byte("<b>")) || bytes.Contains(page, []byte("http:")) || bytes.Contains(page, []byte("https:")) || bytes.Contains(page, []byte("src=")) {
		t.Errorf("index.html carries unescaped text or an external resource")
	}
	if _, err := r.cat.VerifyEvents(); err != nil {
		t.Fatal(err)
	}
}

// TestFlipEveryFile flips one byte in each file of an export in turn:
// verify fails and names that file, and no other.
func TestFlipEveryFile(t *testing.T) {
	r := newRig(t)
	dir, _ := r.export(t)
	var names []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, _ error) error {
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(names) != 10 {
		t.Fatalf("files %v", names)
	}
	for _, name := range names {
		p := filepath.Join(dir, name)
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range []int{0, len(orig) / 2, len(orig) - 2} {
			b := bytes.Clone(orig)
			b[at] ^= 0x01
			write(t, p, b)
			_, err := VerifyDir(dir)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("%s byte %d flipped: verify says %v", name, at, err)
			}
			if got := ve.Files(); !slices.Equal(got, []string{name}) {
				t.Errorf("%s byte %d flipped: verify names %v (%v)", name, at, got, err)
			}
		}
		write(t, p, orig)
	}
	if _, err := VerifyDir(dir); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestTarRoundTrip(t *testing.T) {
	r := newRig(t)
	recs, err := r.x.Plan("C-1")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := NewTarSink(&buf, catalogtest.T0)
	if _, err := r.x.Export(context.Background(), Request{Case: "C-1", By: "sup1"}, recs, tw); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyTar(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Unpack(bytes.NewReader(buf.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyDir(dir); err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(buf.Bytes())
	i := bytes.Index(b, []byte(`"type":"exported"`)) // inside the first file, trail/events.jsonl
	b[i+3] ^= 1
	var ve *VerifyError
	if _, err := VerifyTar(bytes.NewReader(b)); !errors.As(err, &ve) || !slices.Equal(ve.Files(), []string{EventsName}) {
		t.Errorf("flipped tar: %v", err)
	}
}

func TestPlanRefuses(t *testing.T) {
	r := newRig(t)
	if _, err := r.x.Plan("C-none"); !errors.Is(err, ErrNoRecordings) {
		t.Errorf("empty case: %v", err)
	}
	r.x.Store = nil // local-only: the evicted segment is nowhere
	if _, err := r.x.Plan("C-1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("evicted without archive: %v", err)
	}
}
