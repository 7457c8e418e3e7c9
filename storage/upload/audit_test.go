package upload

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

// A quiet station's events are anchored within the hour, not when a
// thousand more arrive, and whatever is open at shutdown is anchored then.
func TestAuditChunksCloseByAgeAndAtShutdown(t *testing.T) {
	now := catalogtest.T0
	c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return now }})
	store := archivetest.NewFake(5 << 20)
	log := slog.New(slog.DiscardHandler)
	for range 3 {
		if err := c.Append(catalog.Event{Type: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	ship := func(closeBefore time.Time) int {
		n, err := ShipAudit(context.Background(), c, store, "st01", now.Add(time.Hour), closeBefore, log)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := ship(now.Add(-time.Hour)); n != 0 {
		t.Fatalf("a young chunk of 3 events shipped: %d", n)
	}
	now = now.Add(61 * time.Minute)
	if n := ship(now.Add(-time.Hour)); n != 1 {
		t.Fatalf("an hour-old chunk not shipped: %d", n)
	}
	chunks, _ := c.AuditChunks()
	if len(chunks) != 1 || chunks[0].First != 1 || chunks[0].Last != 3 {
		t.Fatalf("chunks %+v", chunks)
	}

	// At shutdown the open chunk goes, however young.
	c.Append(catalog.Event{Type: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	AuditShipper{Catalog: c, Store: store, Station: "st01", Interval: time.Hour,
		RetainUntil: func(t time.Time) time.Time { return t.Add(time.Hour) }, Log: log}.Run(ctx)
	chunks, _ = c.AuditChunks()
	if len(chunks) != 2 || chunks[1].First != 4 || chunks[1].Last != 4 {
		t.Fatalf("chunks after shutdown %+v", chunks)
	}
	if n, err := VerifyAudit(context.Background(), c, store, "st01"); err != nil || n != 4 {
		t.Fatalf("verify %d %v", n, err)
	}
}

// The archive's own list is the proof: a chunk missing there is named,
// whatever the catalog's list says.
func TestVerifyAuditTrustsTheArchiveList(t *testing.T) {
	now := catalogtest.T0
	c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return now }})
	store := archivetest.NewFake(5 << 20)
	for range 2*catalog.AuditChunkSize + 10 {
		c.Append(catalog.Event{Type: "test"})
	}
	if n, err := ShipAudit(context.Background(), c, store, "st01", now.Add(time.Hour), now.Add(time.Second), slog.New(slog.DiscardHandler)); err != nil || n != 3 {
		t.Fatalf("shipped %d: %v", n, err)
	}
	ctx := context.Background()
	if _, err := VerifyAudit(ctx, c, store, "st01"); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyAudit(ctx, c, store, "st02"); err == nil {
		t.Fatal("checked under another station's prefix, the shipped chunks are missing: must fail")
	}
	chunks, _ := c.AuditChunks()
	store.Forget(chunks[1].Key)
	_, err := VerifyAudit(ctx, c, store, "st01")
	var ce *catalog.ChainError
	if !errors.As(err, &ce) || ce.Seq != chunks[1].First {
		t.Fatalf("err %v, want the first event of the missing chunk (%d)", err, chunks[1].First)
	}
	store.Forget(chunks[2].Key)
	if _, err := VerifyAudit(ctx, c, store, "st01"); !errors.As(err, &ce) || ce.Seq != chunks[1].First {
		t.Fatalf("err %v: the catalog's claim of chunks the archive lacks must fail", err)
	}
}

// The scheduled check says whether the trail is whole, and gives no
// verdict while the archive does not answer.
func TestAuditVerifierMetric(t *testing.T) {
	now := catalogtest.T0
	c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return now }})
	store := archivetest.NewFake(5 << 20)
	for range 10 {
		c.Append(catalog.Event{Type: "test"})
	}
	if _, err := ShipAudit(context.Background(), c, store, "st01", now.Add(time.Hour), now.Add(time.Second), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	m := NewAuditMetrics(nil)
	v := AuditVerifier{Catalog: c, Store: store, Station: "st01", Log: slog.New(slog.DiscardHandler), Metrics: m}
	v.check(context.Background())
	if testutil.ToFloat64(m.Intact) != 1 || testutil.ToFloat64(m.Checked) == 0 {
		t.Fatal("an intact trail not reported")
	}
	store.SetDown(true)
	v.check(context.Background())
	if testutil.ToFloat64(m.Intact) != 1 {
		t.Fatal("an unreachable archive is no verdict")
	}
	store.SetDown(false)
	chunks, _ := c.AuditChunks()
	store.Forget(chunks[0].Key)
	v.check(context.Background())
	if testutil.ToFloat64(m.Intact) != 0 {
		t.Fatal("a missing chunk not reported")
	}
}

// slowList holds the verifier in its archive listing until released.
type slowList struct {
	Lister
	entered, release chan struct{}
}

func (s slowList) List(ctx context.Context, prefix string) ([]archive.ObjectInfo, error) {
	close(s.entered)
	<-s.release
	return s.Lister.List(ctx, prefix)
}

// While the verifier checks, its progress says so, with the trail's
// length; after, it says nothing runs.
func TestAuditVerifierProgress(t *testing.T) {
	c := catalogtest.Open(t, catalog.Options{})
	store := archivetest.NewFake(5 << 20)
	for range 10 {
		c.Append(catalog.Event{Type: "test"})
	}
	slow := slowList{Lister: store, entered: make(chan struct{}), release: make(chan struct{})}
	p := &Progress{}
	v := AuditVerifier{Catalog: c, Store: slow, Station: "st01", Log: slog.New(slog.DiscardHandler),
		Metrics: NewAuditMetrics(nil), Progress: p}
	if p.State().Running || (*Progress)(nil).State().Running {
		t.Fatal("running before the check")
	}
	done := make(chan struct{})
	go func() { v.check(context.Background()); close(done) }()
	<-slow.entered
	if s := p.State(); !s.Running || s.Total != 10 || s.Done != 10 || s.Started.IsZero() {
		t.Fatalf("during the check: %+v", s)
	}
	close(slow.release)
	<-done
	if p.State().Running {
		t.Fatal("running after the check")
	}
}
