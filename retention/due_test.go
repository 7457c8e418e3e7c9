package retention

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

// randomCatalog is a few thousand recordings over the two years before
// end in every state, some held, some sharing a blob, some with an archive
// lock longer or shorter than the policy's period, some received long after
// they started.
func randomCatalog(t *testing.T, rng *rand.Rand, n int, end time.Time) *catalog.Catalog {
	t.Helper()
	cat := catalogtest.Open(t, catalog.Options{NoSync: true})
	span := int64(2 * 365 * 24 * time.Hour)
	t0 := end.Add(-time.Duration(span))
	at := func(from time.Time, d int64) time.Time {
		t := from.Add(time.Duration(rng.Int64N(d))).Truncate(time.Millisecond)
		if t.After(end) {
			return end
		}
		return t
	}
	for i := range n {
		start := at(t0, span)
		r := catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J1",
			Name: fmt.Sprintf("f%d.mp4", i), SHA256: fmt.Sprintf("%064x", i), Size: 1 + rng.Int64N(1000),
			StartedAt: start, ReceivedAt: at(start, int64(24*time.Hour))}
		if rng.IntN(40) == 0 { // a reset camera clock: received long after the stated start
			r.ReceivedAt = at(start, span)
		}
		if rng.IntN(10) == 0 { // one blob, several recordings
			r.SHA256 = fmt.Sprintf("%064x", n+rng.IntN(n/20))
		}
		randomState(rng, &r, at)
		if rng.IntN(8) == 0 {
			r.Holds = []catalog.Hold{{Reason: ReasonEvidence, By: "a", Why: "b"}}
		}
		if _, _, err := cat.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return cat
}

func randomState(rng *rand.Rand, r *catalog.Recording, at func(time.Time, int64) time.Time) {
	r.State = []catalog.State{catalog.StateStaged, catalog.StateVerified, catalog.StateArchived, catalog.StateArchived,
		catalog.StateArchived, catalog.StateExpiring, catalog.StateExpired, catalog.StateMissing, catalog.StateCorrupt}[rng.IntN(9)]
	if r.State == catalog.StateStaged || r.State == catalog.StateVerified {
		return
	}
	r.ArchiveKey, r.ArchiveVersion = "k", "v"
	r.ArchivedAt = at(r.ReceivedAt, int64(30*24*time.Hour))
	r.RetainUntil = r.StartedAt.AddDate(0, 3+rng.IntN(16), 0)
	r.LegalHold = rng.IntN(10) == 0
	if rng.IntN(3) > 0 {
		r.EvictedAt = at(r.ArchivedAt, int64(10*24*time.Hour))
	}
	if r.State == catalog.StateExpiring || r.State == catalog.StateExpired {
		r.ExpiringAt = at(r.RetainUntil, int64(60*24*time.Hour))
	}
}

// Planning over what the retention indexes find gives the plan that
// planning over every recording gives, whatever the policy, the time and
// the free space.
func TestPlanOverIndexesEqualsPlanOverEverything(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	cat := randomCatalog(t, rng, 3000, end)
	all, err := cat.List(catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	zones := []*time.Location{cst, time.UTC, mustZone("America/New_York"), mustZone("Pacific/Apia")}
	kinds := map[ActionKind]int{}
	read := 0
	for i := range 60 {
		p := Policy{Standard: Period{Months: []int{6, 7, 18}[i%3]}, Location: zones[i%len(zones)],
			LocalKeep: time.Duration(rng.IntN(20)) * 24 * time.Hour, Grace: time.Duration(1+rng.IntN(10)) * 24 * time.Hour,
			Archive: i%5 != 0}
		free := int64(1 << 40)
		if i%2 == 0 { // under min_free
			p.MinFree, free = 1+rng.Int64N(400_000), rng.Int64N(200_000)
		}
		// Days after the newest entry, when local_keep and grace decide,
		// or up to a year after it.
		now := end.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		if i%3 == 1 {
			now = end.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		}
		if i == 7 { // a station clock behind the catalog
			now = end.Add(-ClockSlack - time.Second)
		}
		want := Plan(now, all, p, free)
		q := p.DueQuery(now, free)
		err := cat.DueStream(context.Background(), q,
			func(d catalog.Due) error { read += len(d.Recordings); return nil },
			func(batch []catalog.Recording) error { read += len(batch); return nil })
		if err != nil {
			t.Fatal(err)
		}
		// Over what the indexes find, the local part whole and the rest a
		// batch at a time: the same steps, kinds in the same order,
		// mark-expired and delete in index order rather than by id.
		var each []Action
		g := &Manager{cfg: Config{Policy: p}, cat: cat}
		rest, err := g.planEach(context.Background(), now, free, func(a Action) error { each = append(each, a); return nil })
		if err != nil {
			t.Fatal(err)
		}
		rest.Actions = byKindThenID(each)
		if g, w := jsonOf(t, rest), jsonOf(t, Result{Actions: byKindThenID(want.Actions), Short: want.Short, Warnings: want.Warnings}); g != w {
			t.Fatalf("case %d (now %v, %+v, free %d):\nstreamed plan: %s\nplan over all: %s", i, now, p, free, g, w)
		}
		if !slices.IsSortedFunc(each, func(a, b Action) int { return cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]) }) {
			t.Fatalf("case %d: streamed kinds out of order", i)
		}
		for _, a := range want.Actions {
			kinds[a.Kind]++
		}
	}
	for _, k := range []ActionKind{Evict, MarkExpired, Unmark, Delete} {
		if kinds[k] == 0 {
			t.Errorf("no %s in any case: the catalog does not test it", k)
		}
	}
	if read >= 60*len(all)/2 {
		t.Errorf("the index read %d recordings over 60 plans of %d: hardly fewer than all", read, len(all))
	}
}

var kindOrder = map[ActionKind]int{Unmark: 0, Evict: 1, MarkExpired: 2, Delete: 3}

// byKindThenID orders the expiry steps of a plan by id within each kind;
// evictions keep their order (oldest archive first), which decides them.
func byKindThenID(acts []Action) []Action {
	out := slices.Clone(acts)
	slices.SortStableFunc(out, func(a, b Action) int {
		c := cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind])
		if c != 0 || a.Kind == Evict {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if out == nil {
		out = []Action{}
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// No recording whose standard period has ended by now started after
// DueQuery's start bound: month ends, leap days, DST and a zone that
// skipped a whole day (Apia, 30 December 2011) included.
func TestDueQueryStartBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zones := []*time.Location{cst, time.UTC, mustZone("America/New_York"), mustZone("Pacific/Apia"), mustZone("Australia/Lord_Howe")}
	t0 := time.Date(2011, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100_000 {
		p := Policy{Standard: Period{Months: []int{6, 7, 12, 18}[i%4]}, Location: zones[i%len(zones)]}
		now := t0.Add(time.Duration(rng.Int64N(int64(20 * 365 * 24 * time.Hour))))
		bound := p.DueQuery(now, 0).StartedBy
		// Starts from just past the bound up to four days past it.
		start := bound.Add(1 + time.Duration(rng.Int64N(int64(96*time.Hour))))
		r := catalog.Recording{StartedAt: start, ReceivedAt: start}
		if ru := p.RetainUntil(&r); !now.Before(ru) {
			t.Fatalf("%s, %s: started %v after the bound %v, yet its retention ended %v by %v",
				p.Location, p.Standard, start, bound, ru, now)
		}
	}
}

// The retention indexes keep a recording's start, receipt and archive lock
// only: the retention date must follow from them alone. A new field that
// changes it must be indexed too (storage/catalog/index.go).
func TestRetainUntilReadsOnlyIndexedTimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		var r catalog.Recording
		fillRandom(rng, reflect.ValueOf(&r).Elem())
		p := Policy{Standard: Period{Months: 6 + rng.IntN(30)}, Location: cst}
		only := catalog.Recording{StartedAt: r.StartedAt, ReceivedAt: r.ReceivedAt, RetainUntil: r.RetainUntil}
		if got, want := p.RetainUntil(&only), p.RetainUntil(&r); !got.Equal(want) {
			t.Fatalf("case %d: retain-until %v from the indexed times, %v from the whole record %+v", i, got, want, r)
		}
	}
}

// fillRandom sets every field it can reach to a random value.
func fillRandom(rng *rand.Rand, v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Unix(rng.Int64N(2_000_000_000), rng.Int64N(1e9)).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillRandom(rng, v.Field(i))
			}
		}
	case reflect.String:
		v.SetString([]string{"", catalog.FlagClockSuspect, "x", string(catalog.StateArchived)}[rng.IntN(4)])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rng.Int64N(1 << 40))
	case reflect.Uint64, reflect.Uint:
		v.SetUint(rng.Uint64N(1 << 40))
	case reflect.Slice:
		n := rng.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fillRandom(rng, s.Index(i))
		}
		v.Set(s)
	}
}

// A camera whose clock says 2011, docked today, is in today's report of
// camera clocks: the report finds it by receipt, not by its start.
func TestReportForListsClocksByReceipt(t *testing.T) {
	e := newEnv(t, t.TempDir())
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}, Location: time.UTC}, Now: e.Now}, e.cat, e.staging, nil, quiet, nil)
	r := e.ingest(t, []byte("footage from a camera set to 2011"), time.Date(2011, 3, 1, 8, 0, 0, 0, time.UTC), "100001")
	e.cat.Update(r.ID, func(x *catalog.Recording) error {
		x.CameraClockOffset = -x.ReceivedAt.Sub(x.StartedAt)
		x.AddFlag(catalog.FlagClockOffset)
		return nil
	})
	day := e.Now().UTC().Truncate(24 * time.Hour)
	rep, err := g.ReportFor(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ClockOffsets) != 1 || rep.ClockOffsets[0].Device != "J0000001" || !rep.ClockOffsets[0].Flagged {
		t.Fatalf("clock offsets %+v", rep.ClockOffsets)
	}
}
