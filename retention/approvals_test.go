package retention

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
)

// release2 is a release of reason as two supervisors make it: by asks,
// "second" approves.
func release2(ctx context.Context, g *Manager, id uint64, reason, by, why string) (catalog.Recording, error) {
	q, err := g.Ask(catalog.Request{Kind: catalog.RequestRelease, Targets: []catalog.Target{{Recording: id}}, Reason: reason, By: by, Why: why})
	if err == nil {
		_, err = g.Decide(ctx, q.ID, "second", "agreed", true)
	}
	if err != nil {
		return catalog.Recording{}, err
	}
	return g.cat.Get(id)
}

// restore2 is a restore as two supervisors make it.
func restore2(ctx context.Context, g *Manager, id uint64, by, why string) error {
	q, err := g.Ask(catalog.Request{Kind: catalog.RequestRestore, Targets: []catalog.Target{{Recording: id}}, By: by, Why: why})
	if err == nil {
		_, err = g.Decide(ctx, q.ID, "second", "agreed", true)
	}
	return err
}

type approvalStation struct {
	e    *env
	g    *Manager
	fake *archivetest.Fake
	rec  catalog.Recording
}

// newApprovalStation has one archived recording held as evidence for C1.
func newApprovalStation(t *testing.T) *approvalStation {
	t.Helper()
	s := &approvalStation{e: newEnv(t, t.TempDir()), fake: archivetest.NewFake(archivetest.PartSize)}
	s.g = New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: s.e.Now}, s.e.cat, s.e.staging, s.fake, quiet, nil)
	r := s.e.ingest(t, []byte("evidence footage"), s.e.Now().Add(-time.Hour), "100001")
	if _, err := s.g.Hold(context.Background(), []uint64{r.ID}, catalog.Filter{},
		catalog.Hold{Reason: ReasonEvidence, By: "li.na", Why: "case file", Case: "C1"}); err != nil {
		t.Fatal(err)
	}
	s.rec = s.e.get(t, r.ID)
	return s
}

func (s *approvalStation) ask(t *testing.T, by string) catalog.Request {
	t.Helper()
	q, err := s.g.Ask(catalog.Request{Kind: catalog.RequestRelease, Targets: []catalog.Target{{Recording: s.rec.ID}},
		Reason: ReasonEvidence, By: by, Why: "case closed"})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestReleaseOfALegalReasonTakesTwo(t *testing.T) {
	s := newApprovalStation(t)
	ctx := context.Background()
	if _, err := s.g.Release(ctx, s.rec.ID, ReasonEvidence, "wang.li", "case closed"); !errors.Is(err, ErrNeedsApproval) {
		t.Fatalf("one-step release of evidence: %v", err)
	}
	q := s.ask(t, "wang.li")
	if !q.Expires.Equal(q.At.Add(72 * time.Hour)) {
		t.Fatalf("request expires %s, asked %s", q.Expires, q.At)
	}
	if _, err := s.g.Decide(ctx, q.ID, "wang.li", "mine", true); !errors.Is(err, catalog.ErrSelfApproval) {
		t.Fatalf("approval by the requester: %v", err)
	}
	if r := s.e.get(t, s.rec.ID); !r.Permanent() {
		t.Fatal("a refused approval released the hold")
	}
	got, err := s.g.Decide(ctx, q.ID, "sun.yu", "agreed", true)
	if err != nil || got.State != catalog.RequestApproved {
		t.Fatalf("approval: %+v %v", got, err)
	}
	r := s.e.get(t, s.rec.ID)
	if r.Permanent() {
		t.Fatalf("still held after the approval: %+v", r.Holds)
	}
	evs, _ := s.e.cat.RecentEvents(3)
	if evs[0].Type != catalog.EventUnheld || evs[0].Actor != "sun.yu" || !strings.Contains(evs[0].Detail, "asked by wang.li") ||
		evs[1].Type != catalog.EventApproved || evs[2].Type != catalog.EventRequested || evs[2].Actor != "wang.li" {
		t.Fatalf("trail: %+v", evs)
	}
}

func TestApprovalAfterExpiryRefused(t *testing.T) {
	s := newApprovalStation(t)
	q := s.ask(t, "wang.li")
	s.e.set(s.e.Now().Add(DefaultApprovalWindow))
	_, err := s.g.Decide(context.Background(), q.ID, "sun.yu", "late", true)
	if !errors.Is(err, catalog.ErrRequestExpired) {
		t.Fatalf("approval at the expiry: %v", err)
	}
	if r := s.e.get(t, s.rec.ID); !r.Permanent() {
		t.Fatal("an expired request released the hold")
	}
	// Just before the expiry it would have passed.
	q = s.ask(t, "wang.li")
	s.e.set(s.e.Now().Add(DefaultApprovalWindow - time.Second))
	if _, err := s.g.Decide(context.Background(), q.ID, "sun.yu", "in time", true); err != nil {
		t.Fatal(err)
	}
}

// A hold added between the request and the approval stays: the approval
// takes away only the hold it names. A second request for the same hold,
// approved after the first, finds it gone.
func TestApprovalReleasesOnlyTheNamedHold(t *testing.T) {
	s := newApprovalStation(t)
	ctx := context.Background()
	q, other := s.ask(t, "wang.li"), s.ask(t, "zhou.ke")
	s.g.between = func(step string, id uint64) {
		if step == "approve" && id == q.ID {
			s.g.between = nil
			if _, err := s.g.Hold(ctx, []uint64{s.rec.ID}, catalog.Filter{},
				catalog.Hold{Reason: ReasonObstruction, By: "li.na", Why: "obstruction seen"}); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := s.g.Decide(ctx, q.ID, "sun.yu", "agreed", true); err != nil {
		t.Fatal(err)
	}
	r := s.e.get(t, s.rec.ID)
	if len(r.Holds) != 1 || r.Holds[0].Reason != ReasonObstruction || !r.LegalHold {
		t.Fatalf("after the approval: holds %+v legal hold %v", r.Holds, r.LegalHold)
	}
	if _, err := s.g.Decide(ctx, other.ID, "sun.yu", "agreed", true); !errors.Is(err, ErrNoSuchHold) {
		t.Fatalf("approval of a hold released since: %v", err)
	}
	if got, _ := s.g.Request(other.ID); got.State != catalog.RequestPending {
		t.Fatalf("stale request is %s", got.State)
	}
}

// A hold that lands between a restore request and its approval brings the
// recording back itself; the approval then finds nothing to restore.
func TestRestoreApprovalRechecks(t *testing.T) {
	e := newEnv(t, t.TempDir())
	fake := archivetest.NewFake(archivetest.PartSize)
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: e.Now}, e.cat, e.staging, fake, quiet, nil)
	ctx := context.Background()
	r := e.expiringOnFake(t, fake, e.ingest(t, []byte("old footage"), e.Now().Add(-400*24*time.Hour), "100001"))
	if err := restore2(ctx, g, r.ID, "wang.li", "needed"); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, r.ID); got.State != catalog.StateArchived {
		t.Fatalf("restored: %s", got.State)
	}
	if _, err := fake.Head(ctx, r.ArchiveKey, ""); err != nil {
		t.Fatalf("not visible after the restore: %v", err)
	}

	r = e.expiringOnFake(t, fake, e.ingest(t, []byte("more footage"), e.Now().Add(-400*24*time.Hour), "100001"))
	q, err := g.Ask(catalog.Request{Kind: catalog.RequestRestore, Targets: []catalog.Target{{Recording: r.ID}}, By: "wang.li", Why: "needed"})
	if err != nil {
		t.Fatal(err)
	}
	g.between = func(step string, id uint64) {
		g.between = nil
		if _, err := g.Hold(ctx, []uint64{r.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonEvidence, By: "li.na", Why: "case"}); err != nil {
			t.Error(err)
		}
	}
	if _, err := g.Decide(ctx, q.ID, "sun.yu", "agreed", true); err == nil || !strings.Contains(err.Error(), "not expiring") {
		t.Fatalf("approval of a restore a hold overtook: %v", err)
	}
	if got := e.get(t, r.ID); got.State != catalog.StateArchived || !got.Permanent() {
		t.Fatalf("after the hold: %+v", got)
	}
}

func TestRejectAndWithdraw(t *testing.T) {
	s := newApprovalStation(t)
	ctx := context.Background()
	q := s.ask(t, "wang.li")
	got, err := s.g.Decide(ctx, q.ID, "wang.li", "asked by mistake", false)
	if err != nil || got.State != catalog.RequestCancelled {
		t.Fatalf("withdraw: %+v %v", got, err)
	}
	q = s.ask(t, "wang.li")
	if got, err = s.g.Decide(ctx, q.ID, "sun.yu", "the case is open", false); err != nil || got.State != catalog.RequestRejected {
		t.Fatalf("reject: %+v %v", got, err)
	}
	if _, err := s.g.Decide(ctx, q.ID, "zhou.ke", "agreed", true); !errors.Is(err, catalog.ErrNotPending) {
		t.Fatalf("approval of a rejected request: %v", err)
	}
	if r := s.e.get(t, s.rec.ID); !r.Permanent() {
		t.Fatal("hold released")
	}
	if _, err := s.g.Ask(catalog.Request{Kind: catalog.RequestRelease, Targets: []catalog.Target{{Recording: s.rec.ID}},
		Reason: ReasonImportantFlag, By: "wang.li", Why: "x"}); err == nil {
		t.Fatal("a request to release the important flag, which one supervisor releases")
	}
}
