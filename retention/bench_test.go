package retention

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"
)

// benchN is the catalog size of the retention benchmarks (default 1,000,000;
// CUSTODIAN_BENCH_RECORDS overrides).
func benchN(b *testing.B) int {
	if s := os.Getenv("CUSTODIAN_BENCH_RECORDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

// benchRecords is a year of a busy station: archived recordings, a few
// held, some evicted, some past retention.
func benchRecords(n int, now time.Time) []catalog.Recording {
	recs := make([]catalog.Recording, n)
	for i := range recs {
		start := now.Add(-time.Duration(i%(365*24)) * time.Hour)
		r := catalog.Recording{ID: uint64(i + 1), SHA256: fmt.Sprintf("%064x", i), Size: 50 << 20,
			Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: fmt.Sprintf("J%07d", i%500),
			Officer: fmt.Sprintf("%06d", i%400), Name: fmt.Sprintf("f%d.mp4", i),
			StartedAt: start, ReceivedAt: start.Add(time.Hour), State: catalog.StateArchived,
			ArchiveKey: "k", ArchivedAt: start.Add(2 * time.Hour)}
		if i%10 != 0 {
			r.EvictedAt = r.ArchivedAt.Add(8 * 24 * time.Hour)
		}
		if i%50 == 0 {
			r.Holds = []catalog.Hold{{Reason: ReasonEvidence, By: "a", Why: "b"}}
		}
		recs[i] = r
	}
	return recs
}

// BenchmarkPlan: the pure planner over a catalog of benchN records.
func BenchmarkPlan(b *testing.B) {
	now := time.Now()
	recs := benchRecords(benchN(b), now)
	p := Policy{Standard: Period{Months: 6}, Location: cst, LocalKeep: 7 * 24 * time.Hour, Grace: 7 * 24 * time.Hour, Archive: true, MinFree: 1 << 40}
	b.ReportAllocs()
	var res Result
	for b.Loop() {
		res = Plan(now, recs, p, 1<<30)
	}
	b.ReportMetric(float64(len(res.Actions)), "actions")
}

// BenchmarkSweep: one sweep over a bbolt catalog of benchN records (read
// every record, plan), with nothing to carry out, which is the steady state.
func BenchmarkSweep(b *testing.B) {
	n := benchN(b)
	now := time.Now()
	cat := catalogtest.Open(b, catalog.Options{NoSync: true})
	for _, r := range benchRecords(n, now) {
		r.StartedAt = now.Add(-time.Duration(r.ID%(90*24)) * time.Hour) // inside retention: no actions
		r.EvictedAt = r.ArchivedAt.Add(time.Hour)
		if _, _, err := cat.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	st, _ := staging.Open(filepath.Join(b.TempDir(), "staging"))
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}, Location: cst}}, cat, st, nil, quiet, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := g.Sweep(context.Background())
		if err != nil || len(res.Actions) != 0 {
			b.Fatalf("%d actions, %v", len(res.Actions), err)
		}
	}
}
