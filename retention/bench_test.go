package retention

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"
)

// benchN is the catalog size of the retention benchmarks (default 20,000,
// small enough for CI; CUSTODIAN_BENCH_RECORDS=1000000 for the README's
// numbers).
func benchN(b *testing.B) int {
	if s := os.Getenv("CUSTODIAN_BENCH_RECORDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 20_000
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

// benchPolicy is the benchmarks' rule: six months in the station's zone,
// local copies and grace periods of a week, an archive.
var benchPolicy = Policy{Standard: Period{Months: 6}, Location: cst, LocalKeep: 7 * 24 * time.Hour,
	Grace: 7 * 24 * time.Hour, Archive: true}

// benchStation is one catalog file per test binary: a steady-state
// station of benchN recordings (catalogtest.Station) at now, closed, with
// its staging; it is removed when the benchmarks end (TestMain).
var benchStation struct {
	once    sync.Once
	dir, db string
	staging string
	now     time.Time
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStation.dir != "" {
		os.RemoveAll(benchStation.dir)
	}
	os.Exit(code)
}

// station returns the benchmark catalog's path, staging dir and time.
func station(b *testing.B) (db, stagingDir string, now time.Time) {
	b.Helper()
	s := &benchStation
	s.once.Do(func() {
		s.now = time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)
		if s.dir, s.err = os.MkdirTemp("", "custodian-bench-"); s.err != nil {
			return
		}
		s.db, s.staging = filepath.Join(s.dir, "custodian.db"), filepath.Join(s.dir, "staging")
		start := time.Now()
		s.err = buildStation(s.db, s.staging, benchN(b), s.now)
		fmt.Fprintf(os.Stderr, "station catalog of %d recordings built in %v\n", benchN(b), time.Since(start).Round(time.Millisecond))
	})
	if s.err != nil {
		b.Fatal(s.err)
	}
	return s.db, s.staging, s.now
}

func buildStation(db, stagingDir string, n int, now time.Time) error {
	cat, err := catalog.Open(db, catalog.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer cat.Close()
	st, err := staging.Open(stagingDir)
	if err != nil {
		return err
	}
	return catalogtest.Station{N: n, Now: now, LocalKeep: benchPolicy.LocalKeep, Grace: benchPolicy.Grace,
		RetainUntil: benchPolicy.RetainUntil,
		Stage: func(content []byte) error {
			_, err := st.Put(context.Background(), bytes.NewReader(content), int64(len(content)), nil)
			return err
		}}.Build(cat)
}

// nopArchive takes every step at once: the benchmarks time the catalog and
// the planner, not S3.
type nopArchive struct{}

func (nopArchive) SetLegalHold(context.Context, string, string, bool) error         { return nil }
func (nopArchive) SetTags(context.Context, string, string, map[string]string) error { return nil }
func (nopArchive) MarkDeleted(context.Context, string) (string, error)              { return "m", nil }
func (nopArchive) Undelete(context.Context, string, string) error                   { return nil }
func (nopArchive) Remove(context.Context, string, string) error                     { return nil }
func (nopArchive) Markers(context.Context, string) ([]string, error)                { return nil, nil }

func openStation(b *testing.B, db, stagingDir string) (*catalog.Catalog, *staging.Staging) {
	b.Helper()
	cat, err := catalog.Open(db, catalog.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	st, err := staging.Open(stagingDir)
	if err != nil {
		cat.Close()
		b.Fatal(err)
	}
	return cat, st
}

// BenchmarkSweep: one sweep of the station catalog, as the daemon runs it
// every ten minutes.
//   - nothing-due: the steady state.
//   - 1pct-due: the clock moves on 1.2 days a sweep, so about 1% of the
//     recordings are due each time (marked expired, deleted after the
//     grace period, evicted), and carried out (a copy of the catalog).
func BenchmarkSweep(b *testing.B) {
	db, stagingDir, now := station(b)
	b.Run("nothing-due", func(b *testing.B) {
		cat, st := openStation(b, db, stagingDir)
		defer cat.Close()
		g := New(Config{Policy: benchPolicy, Now: func() time.Time { return now }}, cat, st, nopArchive{}, quiet, nil)
		b.ReportAllocs()
		for b.Loop() {
			res, err := g.Sweep(context.Background())
			if err != nil || len(res.Actions) != 0 {
				b.Fatalf("%d actions, %v", len(res.Actions), err)
			}
		}
	})
	b.Run("1pct-due", func(b *testing.B) {
		cp := filepath.Join(b.TempDir(), "custodian.db")
		if err := copyFile(db, cp); err != nil {
			b.Fatal(err)
		}
		cat, st := openStation(b, cp, stagingDir)
		defer cat.Close()
		at := now
		g := New(Config{Policy: benchPolicy, Now: func() time.Time { return at }}, cat, st, nopArchive{}, quiet, nil)
		b.ReportAllocs()
		actions := 0
		for b.Loop() {
			at = at.Add(365 * 24 * time.Hour / 300)
			res, err := g.Sweep(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			actions += len(res.Actions)
		}
		b.ReportMetric(float64(actions)/float64(b.N), "actions/op")
	})
}

// BenchmarkPlanAt: `custodian retention plan --at T` on the station
// catalog, for T now, a week and a month ahead.
func BenchmarkPlanAt(b *testing.B) {
	db, stagingDir, now := station(b)
	cat, st := openStation(b, db, stagingDir)
	defer cat.Close()
	g := New(Config{Policy: benchPolicy, Now: func() time.Time { return now }}, cat, st, nopArchive{}, quiet, nil)
	for _, ahead := range []struct {
		name string
		d    time.Duration
	}{{"now", 0}, {"week", 7 * 24 * time.Hour}, {"month", 30 * 24 * time.Hour}} {
		b.Run(ahead.name, func(b *testing.B) {
			b.ReportAllocs()
			var res Result
			for b.Loop() {
				var err error
				if res, err = g.PlanAt(context.Background(), now.Add(ahead.d)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(res.Actions)), "actions")
		})
	}
}

// BenchmarkStart: what the daemon does with the catalog before and just
// after it is ready: open it, reconcile staging, sweep once. The catalog
// file is in the page cache after the first round, as on a restart.
func BenchmarkStart(b *testing.B) {
	db, stagingDir, now := station(b)
	b.ReportAllocs()
	for b.Loop() {
		cat, st := openStation(b, db, stagingDir)
		if _, err := staging.Reconcile(cat, st, quiet); err != nil {
			b.Fatal(err)
		}
		g := New(Config{Policy: benchPolicy, Now: func() time.Time { return now }}, cat, st, nopArchive{}, quiet, nil)
		if res, err := g.Sweep(context.Background()); err != nil || len(res.Actions) != 0 {
			b.Fatalf("%d actions, %v", len(res.Actions), err)
		}
		if err := cat.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
