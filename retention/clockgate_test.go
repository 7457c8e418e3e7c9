package retention

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"custodian/internal/testlog"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
)

// gateStation holds one recording due for each kind of step: evict, mark
// expired, delete, and unmark (held during its grace period).
type gateStation struct {
	e                         *env
	evict, mark, del, restore uint64
}

func newGateStation(t *testing.T) *gateStation {
	t.Helper()
	e := newEnv(t, t.TempDir())
	now := e.Now()
	old := now.AddDate(0, -7, 0).UTC()
	s := &gateStation{e: e}
	set := func(data string, f func(r *catalog.Recording)) uint64 {
		r := e.ingest(t, []byte(data), now.Add(-time.Hour), "100001")
		if _, err := e.cat.Update(r.ID, func(x *catalog.Recording) error { f(x); return nil }); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	s.evict = set("archived a week ago", func(r *catalog.Recording) {
		r.State, r.ArchiveKey, r.ArchivedAt = catalog.StateArchived, "", now.Add(-8*24*time.Hour).UTC()
	})
	s.mark = set("seven months old", func(r *catalog.Recording) {
		r.State, r.StartedAt, r.ReceivedAt, r.ArchivedAt, r.EvictedAt = catalog.StateArchived, old, old, old, old
	})
	s.del = set("expiring, grace over", func(r *catalog.Recording) {
		r.State, r.StartedAt, r.ReceivedAt, r.EvictedAt = catalog.StateExpiring, old, old, old
		r.ExpiringAt = now.Add(-8 * 24 * time.Hour).UTC()
	})
	s.restore = set("expiring, then held", func(r *catalog.Recording) {
		r.State, r.StartedAt, r.ReceivedAt, r.EvictedAt = catalog.StateExpiring, old, old, old
		r.ExpiringAt, r.LegalHold, r.ArchiveKey = now.Add(-time.Hour).UTC(), true, "st01/held"
		r.Holds = []catalog.Hold{{Reason: ReasonEvidence, By: "wang.li", At: now.UTC(), Why: "case A-1", Case: "A-1"}}
	})
	return s
}

func (s *gateStation) states(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, id := range []uint64{s.evict, s.mark, s.del, s.restore} {
		r := s.e.get(t, id)
		out = append(out, string(r.State)+map[bool]string{true: "+local", false: ""}[r.HasLocalCopy()])
	}
	return out
}

func clockEvents(t *testing.T, cat *catalog.Catalog) []string {
	t.Helper()
	events, err := cat.RecentEvents(100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range slices.Backward(events) {
		if e.Type == EventClockUntrusted || e.Type == EventClockTrusted {
			out = append(out, e.Type+": "+e.Detail)
		}
	}
	return out
}

func gauge(t *testing.T, g interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var pb dto.Metric
	if err := g.Write(&pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetGauge().GetValue()
}

// While the station clock is not trusted, a sweep that would evict, mark
// and delete does none of them and says why; it still restores what a hold
// saved. Once trusted, the same sweep does them. The custody trail records
// each change once, not each sweep.
func TestSweepHeldBackByClock(t *testing.T) {
	s := newGateStation(t)
	var trusted atomic.Bool
	const why = "the kernel reports the clock unsynchronised"
	log, logs := testlog.New()
	m := NewMetrics(nil)
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: s.e.Now,
		Clock: func() (bool, string) {
			if trusted.Load() {
				return true, ""
			}
			return false, why
		}}, s.e.cat, s.e.staging, archivetest.NewFake(archivetest.PartSize), log, m)
	ctx := context.Background()
	before := []string{"archived+local", "archived", "expiring", "expiring"}
	if got := s.states(t); !slices.Equal(got, before) {
		t.Fatalf("set-up: %v", got)
	}

	// `retention plan` shows what is due, and says the sweeper waits.
	plan, err := g.PlanAt(context.Background(), s.e.Now())
	if err != nil || len(plan.Actions) == 0 || !slices.ContainsFunc(plan.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "the station clock is not trusted now ("+why+")")
	}) {
		t.Fatalf("plan while untrusted: %+v, %v", plan, err)
	}

	for i := range 2 {
		res, err := g.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The restore runs in the first sweep; nothing is left for the second.
		if restored := len(res.Actions) == 1 && res.Actions[0].Kind == Unmark && res.Actions[0].ID == s.restore; i == 0 && !restored ||
			i == 1 && len(res.Actions) != 0 {
			t.Fatalf("sweep %d, actions while untrusted: %+v", i, res.Actions)
		}
		want := "3 evict, mark-expired and delete steps wait until the station clock is trusted: " + why
		if !slices.Contains(res.Warnings, want) {
			t.Fatalf("warnings %q, want %q", res.Warnings, want)
		}
		if got := s.states(t); !slices.Equal(got, []string{"archived+local", "archived", "expiring", "archived"}) {
			t.Fatalf("while untrusted: %v", got)
		}
		if n := gauge(t, m.HeldBack); n != 3 {
			t.Fatalf("held back %v, want 3", n)
		}
	}
	if got := clockEvents(t, s.e.cat); !slices.Equal(got, []string{EventClockUntrusted + ": evictions, expiry and deletions wait until the station clock is trusted: " + why}) {
		t.Fatalf("clock events after two untrusted sweeps: %q", got)
	}

	trusted.Store(true)
	for range 2 {
		if _, err := g.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.states(t); !slices.Equal(got, []string{"archived", "expiring", "expired", "archived"}) {
		t.Fatalf("once trusted: %v", got)
	}
	if n := gauge(t, m.HeldBack); n != 0 {
		t.Fatalf("held back %v once trusted", n)
	}
	if got := clockEvents(t, s.e.cat); len(got) != 2 || !strings.HasPrefix(got[1], EventClockTrusted+": ") {
		t.Fatalf("clock events: %q", got)
	}
	if n := strings.Count(logs.String(), "retention holds back"); n != 1 {
		t.Errorf("%d log lines on holding back, want 1:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "retention resumes"); n != 1 {
		t.Errorf("%d log lines on resuming, want 1:\n%s", n, logs.String())
	}
	// Untrusted again with nothing due: recorded, but no sweep warning.
	trusted.Store(false)
	res, err := g.Sweep(ctx)
	if err != nil || len(res.Warnings) != 0 {
		t.Fatalf("nothing due while untrusted: %q %v", res.Warnings, err)
	}
	if got := clockEvents(t, s.e.cat); len(got) != 3 || !strings.HasPrefix(got[2], EventClockUntrusted+": ") {
		t.Fatalf("clock events: %q", got)
	}
	if _, err := s.e.cat.VerifyEvents(); err != nil {
		t.Fatal(err)
	}
}

// A check that finds the clock stepped while a sweep runs stops the
// irreversible steps that remain.
func TestSweepClockChangesMidSweep(t *testing.T) {
	s := newGateStation(t)
	var calls atomic.Int32
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: s.e.Now,
		Clock: func() (bool, string) {
			if calls.Add(1) == 1 {
				return true, "" // the sweep's own check
			}
			return false, "the clock stepped back 1h0m0s"
		}}, s.e.cat, s.e.staging, archivetest.NewFake(archivetest.PartSize), quiet, nil)
	if _, err := g.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.states(t); !slices.Equal(got, []string{"archived+local", "archived", "expiring", "archived"}) {
		t.Fatalf("after a mid-sweep step: %v", got)
	}
}
