package retention

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"
	"custodian/storage/upload"

	"custodian/internal/testenv"
)

type env struct {
	cat     *catalog.Catalog
	staging *staging.Staging
	now     time.Time
	mu      sync.Mutex
}

func (e *env) Now() time.Time  { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
func (e *env) set(t time.Time) { e.mu.Lock(); e.now = t; e.mu.Unlock() }

func newEnv(t *testing.T, stagingDir string) *env {
	t.Helper()
	e := &env{now: time.Now()}
	e.cat = catalogtest.Open(t, catalog.Options{Now: e.Now})
	var err error
	if e.staging, err = staging.Open(stagingDir); err != nil {
		t.Fatal(err)
	}
	return e
}

// ingest stages bytes and records them as a verified dock recording.
func (e *env) ingest(t *testing.T, data []byte, started time.Time, officer string) catalog.Recording {
	t.Helper()
	blob, err := e.staging.Put(context.Background(), bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := e.cat.Add(catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a",
		Device: "J0000001", Officer: officer, Name: string(data[:4]) + ".mp4", Ext: "mp4", StartedAt: started.UTC(),
		ReceivedAt: e.Now().UTC(), SHA256: blob.SHA256, Size: blob.Size, State: catalog.StateVerified})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) get(t *testing.T, id uint64) catalog.Recording {
	t.Helper()
	r, err := e.cat.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var quiet = slog.New(slog.DiscardHandler)

// The whole retention path against a real MinIO: legal holds set and lifted
// and read back, a two-stage expiry with a restore in between, and MinIO
// itself refusing to delete a held version of the same age.
func TestRetentionOnMinIO(t *testing.T) {
	a := archivetest.OnMinIO(t, miniotest.Start(t), nil)
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	p := Policy{Standard: Period{Months: 6}, Location: cst, LocalKeep: 7 * 24 * time.Hour, Grace: 7 * 24 * time.Hour}
	// Two recordings whose six months end a few seconds from now.
	// Received then too: the period counts from the later of start and receipt.
	start := time.Now().In(cst).AddDate(0, -6, 0).Add(4 * time.Second)
	e.set(start)
	expiring := e.ingest(t, []byte("expiring footage"), start, "100001")
	kept := e.ingest(t, []byte("held footage of the same age"), start, "100001")
	e.set(time.Now())

	up, err := upload.New(upload.Config{Station: "st01", Version: "test", MinLock: time.Second,
		RetainUntil: func(r catalog.Recording) time.Time { return p.RetainUntil(&r) }}, e.cat, e.staging, a, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	uctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- up.Run(uctx) }()
	deadline := time.Now().Add(time.Minute)
	for e.get(t, expiring.ID).State != catalog.StateArchived || e.get(t, kept.ID).State != catalog.StateArchived {
		if time.Now().After(deadline) {
			t.Fatal("uploads did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	<-done

	g := New(Config{Policy: p, Now: e.Now}, e.cat, e.staging, a, quiet, nil)
	heldRec := e.get(t, kept.ID)
	ids, err := g.Hold(ctx, []uint64{kept.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonEvidence, By: "admin1", Why: "case file", Case: "C2026-17"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("hold: %v %v", ids, err)
	}
	if on, err := a.LegalHold(ctx, heldRec.ArchiveKey, heldRec.ArchiveVersion); err != nil || !on {
		t.Fatalf("legal hold after hold: %v %v", on, err)
	}
	// A second reason, released again: the legal hold stays for the first.
	g.Hold(ctx, []uint64{kept.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonObstruction, By: "admin1", Why: "obstruction seen"})
	if _, err := release2(ctx, g, kept.ID, ReasonObstruction, "admin2", "not obstruction after review"); err != nil {
		t.Fatal(err)
	}
	if on, _ := a.LegalHold(ctx, heldRec.ArchiveKey, heldRec.ArchiveVersion); !on {
		t.Fatal("legal hold lifted while a reason remains")
	}
	// Hold and release the other one: no reason left, the legal hold goes.
	exp := e.get(t, expiring.ID)
	g.Hold(ctx, []uint64{exp.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonMajorCase, By: "admin1", Why: "maybe"})
	if on, _ := a.LegalHold(ctx, exp.ArchiveKey, exp.ArchiveVersion); !on {
		t.Fatal("no legal hold after hold")
	}
	if _, err := release2(ctx, g, exp.ID, ReasonMajorCase, "admin2", "not a major case"); err != nil {
		t.Fatal(err)
	}
	if on, _ := a.LegalHold(ctx, exp.ArchiveKey, exp.ArchiveVersion); on {
		t.Fatal("legal hold still on after the last reason was released")
	}
	if _, err := release2(ctx, g, exp.ID, ReasonMajorCase, "admin2", "again"); !errors.Is(err, ErrNoSuchHold) {
		t.Fatalf("second release: %v", err)
	}

	// Let MinIO's own clock pass the lock, then run the sweeper a day later.
	time.Sleep(time.Until(exp.RetainUntil.Add(time.Second)))
	e.set(time.Now().Add(24 * time.Hour))
	if _, err := g.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	exp = e.get(t, exp.ID)
	if exp.State != catalog.StateExpiring || exp.DeleteMarker == "" {
		t.Fatalf("stage one: %+v", exp)
	}
	if _, err := a.Head(ctx, exp.ArchiveKey, ""); !errors.Is(err, archive.ErrObjectNotFound) {
		t.Fatalf("latest version visible behind the delete marker: %v", err)
	}
	if e.get(t, kept.ID).State != catalog.StateArchived {
		t.Fatal("held recording touched")
	}
	// Restore during grace, and it is back.
	if err := restore2(ctx, g, exp.ID, "admin2", "needed for review"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Head(ctx, exp.ArchiveKey, ""); err != nil {
		t.Fatalf("not visible after restore: %v", err)
	}
	// Marked again, and after the grace period deleted for good.
	if _, err := g.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	e.set(time.Now().Add(9 * 24 * time.Hour))
	if _, err := g.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	exp = e.get(t, exp.ID)
	if exp.State != catalog.StateExpired || exp.SHA256 == "" {
		t.Fatalf("stage two: %+v", exp)
	}
	if v, _ := a.Versions(ctx, exp.ArchiveKey); len(v) != 0 {
		t.Fatalf("versions left: %v", v)
	}
	if _, err := os.Stat(e.staging.Path(exp.SHA256)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("local copy of an expired recording left")
	}
	// The held one of the same age: MinIO itself refuses to delete it.
	held := e.get(t, kept.ID)
	if held.State != catalog.StateArchived {
		t.Fatalf("held recording is %s", held.State)
	}
	if err := a.Remove(ctx, held.ArchiveKey, held.ArchiveVersion); err == nil {
		t.Fatal("MinIO deleted a version under legal hold")
	}
	if n, err := e.cat.VerifyEvents(); err != nil {
		t.Fatalf("custody trail after %d events: %v", n, err)
	}
}

// retention runs on the same fake archive as every other package.
var _ Archive = (*archivetest.Fake)(nil)

// A staging disk that is full: the sweeper evicts what the archive holds,
// never an unarchived copy, and says it is still short so docks pause.
func TestSweeperFullDiskNeverDeletesUnarchived(t *testing.T) {
	dir := t.TempDir()
	testenv.MountTmpfs(t, dir, "4m")
	e := newEnv(t, filepath.Join(dir, "staging"))
	now := e.Now()
	fill := func(c byte) []byte { return bytes.Repeat([]byte{c}, 1<<20) }
	archived := e.ingest(t, fill('a'), now.Add(-time.Hour), "1")
	unarchived1 := e.ingest(t, fill('b'), now.Add(-2*time.Hour), "1")
	unarchived2 := e.ingest(t, fill('c'), now.Add(-3*time.Hour), "1")
	e.cat.Update(archived.ID, func(r *catalog.Recording) error {
		r.State, r.ArchiveKey, r.ArchivedAt = catalog.StateArchived, "st01/a", now
		return nil
	})
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}, MinFree: 100 << 20}, Now: e.Now},
		e.cat, e.staging, archivetest.NewFake(archivetest.PartSize), quiet, nil)
	res, err := g.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) != 1 || res.Actions[0].Kind != Evict || res.Actions[0].ID != archived.ID {
		t.Fatalf("actions %+v", res.Actions)
	}
	if res.Short <= 0 || !g.Short() {
		t.Fatalf("short %d, Short() %v: docks must pause", res.Short, g.Short())
	}
	for _, r := range []catalog.Recording{unarchived1, unarchived2} {
		if err := e.staging.Verify(r.SHA256, r.Size); err != nil {
			t.Fatalf("unarchived copy %d damaged: %v", r.ID, err)
		}
	}
	if _, err := os.Stat(e.staging.Path(archived.SHA256)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("archived copy not evicted")
	}
	if r := e.get(t, archived.ID); r.EvictedAt.IsZero() || r.State != catalog.StateArchived {
		t.Fatalf("evicted record %+v", r)
	}
}

// Holds need who and why; a case link implies evidence; an expiring
// recording held during grace is restored at once.
func TestHoldRules(t *testing.T) {
	e := newEnv(t, t.TempDir())
	fa := archivetest.NewFake(archivetest.PartSize)
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: e.Now}, e.cat, e.staging, fa, quiet, nil)
	ctx := context.Background()
	r := e.ingest(t, []byte("some footage"), e.Now().Add(-time.Hour), "100001")
	if _, err := g.Hold(ctx, []uint64{r.ID}, catalog.Filter{}, catalog.Hold{Reason: "because", By: "a", Why: "b"}); err == nil {
		t.Error("unknown reason accepted")
	}
	if _, err := g.Hold(ctx, []uint64{r.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonEvidence, By: "a"}); err == nil {
		t.Error("hold without why accepted")
	}
	if _, err := g.Hold(ctx, nil, catalog.Filter{Officer: "100001"}, catalog.Hold{Reason: ReasonEvidence, By: "a", Why: "b"}); err == nil {
		t.Error("officer selection without a time range accepted")
	}
	ids, err := g.Hold(ctx, nil, catalog.Filter{Officer: "100001", From: e.Now().Add(-2 * time.Hour), To: e.Now()},
		catalog.Hold{Reason: ReasonEvidence, By: "a", Why: "b", Case: "C1"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("hold by officer: %v %v", ids, err)
	}
	got := e.get(t, r.ID)
	if !got.Permanent() || got.Cases[0] != "C1" || !got.LegalHold {
		t.Fatalf("record %+v", got)
	}
	// Holding twice for the same reason and case records nothing new.
	g.Hold(ctx, []uint64{r.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonEvidence, By: "a", Why: "b", Case: "C1"})
	if got := e.get(t, r.ID); len(got.Holds) != 1 {
		t.Fatalf("holds %+v", got.Holds)
	}
	// An expiring recording held during grace comes back at once.
	r2 := e.ingest(t, []byte("other footage"), e.Now().Add(-time.Hour), "100002")
	e.cat.Update(r2.ID, func(x *catalog.Recording) error {
		x.State, x.ExpiringAt = catalog.StateExpiring, e.Now()
		return nil
	})
	g.Hold(ctx, []uint64{r2.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonMassIncident, By: "a", Why: "b"})
	if got := e.get(t, r2.ID); got.State != catalog.StateVerified || !got.ExpiringAt.IsZero() {
		t.Fatalf("held during grace: %+v", got)
	}
}

// The sweeper runs every Interval, and every minute while staging is short.
func TestRunCadence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		minFree int64
		want    uint64
	}{
		{"every interval", 0, 4},        // at 0, 10, 20, 30 minutes
		{"under pressure", 1 << 62, 31}, // every minute: free is never that large
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, t.TempDir())
				m := NewMetrics(nil)
				g := New(Config{Policy: Policy{Standard: Period{Months: 6}, MinFree: tc.minFree}}, e.cat, e.staging, nil, quiet, m)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { g.Run(ctx); close(done) }()
				time.Sleep(30*time.Minute + time.Second)
				cancel()
				<-done
				if n := histogramCount(t, m); n != tc.want {
					t.Fatalf("%d sweeps in 30 minutes, want %d", n, tc.want)
				}
			})
		})
	}
}

func histogramCount(t *testing.T, m *Metrics) uint64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Sweep.Write(&pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetHistogram().GetSampleCount()
}

// Two archived recordings share one blob: evicting the first leaves it for
// the second, so the scrubber never finds a "missing" copy; the second
// eviction removes it.
func TestEvictSharedBlob(t *testing.T) {
	e := newEnv(t, t.TempDir())
	data := []byte("same bytes from two cameras")
	a := e.ingest(t, data, e.Now().Add(-time.Hour), "1")
	blob, _ := e.staging.Put(context.Background(), bytes.NewReader(data), int64(len(data)), nil)
	b, _, err := e.cat.Add(catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a",
		Device: "J0000002", Name: "other.mp4", StartedAt: e.Now().Add(-time.Hour).UTC(), ReceivedAt: e.Now().UTC(),
		SHA256: blob.SHA256, Size: blob.Size, State: catalog.StateVerified})
	if err != nil {
		t.Fatal(err)
	}
	archive := func(id uint64, at time.Time) {
		e.cat.Update(id, func(r *catalog.Recording) error {
			r.State, r.ArchiveKey, r.ArchivedAt = catalog.StateArchived, "st01/k", at.UTC()
			return nil
		})
	}
	archive(a.ID, e.Now().Add(-8*24*time.Hour)) // due for eviction
	archive(b.ID, e.Now())                      // not yet
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: e.Now}, e.cat, e.staging, archivetest.NewFake(archivetest.PartSize), quiet, nil)
	if _, err := g.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, a.ID); got.EvictedAt.IsZero() {
		t.Fatal("first recording not evicted")
	}
	if err := e.staging.Verify(blob.SHA256, blob.Size); err != nil {
		t.Fatalf("blob removed while another recording still holds it locally: %v", err)
	}
	e.set(e.Now().Add(8 * 24 * time.Hour))
	if _, err := g.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.staging.Path(blob.SHA256)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("blob kept after the last recording let go: %v", err)
	}
}

// A hold placed while the archive is down stands in the catalog; the next
// sweep finds it through the legal-hold index and sets the legal hold, and
// after a release lifts it again.
func TestSweepAppliesLegalHoldsLater(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ctx := context.Background()
	fake := archivetest.NewFake(archivetest.PartSize)
	data := []byte("footage held while the archive was down")
	r := e.ingest(t, data, e.Now().Add(-time.Hour), "1")
	info, err := fake.Put(ctx, archive.PutRequest{Key: "st01/k", SHA256: r.SHA256, Size: r.Size, Body: bytes.NewReader(data),
		RetainUntil: e.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e.cat.Update(r.ID, func(x *catalog.Recording) error {
		x.State, x.ArchiveKey, x.ArchiveVersion, x.ArchivedAt = catalog.StateArchived, info.Key, info.VersionID, e.Now().UTC()
		return nil
	})
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: e.Now}, e.cat, e.staging, fake, quiet, nil)
	legalHold := func() bool {
		t.Helper()
		got, err := fake.Head(ctx, info.Key, info.VersionID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LegalHold
	}
	sweep := func() {
		t.Helper()
		if _, err := g.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}

	fake.SetDown(true)
	if _, err := g.Hold(ctx, []uint64{r.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonEvidence, By: "admin1", Why: "case file"}); err == nil {
		t.Fatal("hold with the archive down: no error")
	}
	if pending, _ := e.cat.LegalHoldPending(); len(pending) != 1 || len(pending[0].Holds) != 1 {
		t.Fatalf("after the hold: %+v pending, want the held recording", pending)
	}
	fake.SetDown(false)
	sweep()
	if !legalHold() || !e.get(t, r.ID).LegalHold {
		t.Fatal("sweep did not set the legal hold")
	}
	if pending, _ := e.cat.LegalHoldPending(); len(pending) != 0 {
		t.Fatalf("%d still pending after the sweep", len(pending))
	}

	fake.SetDown(true)
	if _, err := release2(ctx, g, r.ID, ReasonEvidence, "admin2", "reviewed"); err == nil {
		t.Fatal("release with the archive down: no error")
	}
	fake.SetDown(false)
	sweep()
	if legalHold() || e.get(t, r.ID).LegalHold {
		t.Fatal("sweep did not lift the legal hold after the release")
	}
}
