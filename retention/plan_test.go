package retention

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"custodian/storage/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var cst = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// at reads a station-local time.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func sha(c byte) string { return string(bytes.Repeat([]byte{c}, 64)) }

// recAt is an archived recording that started at start and was received
// at once, so its six months count from start.
func recAt(id uint64, start time.Time, mod ...func(*catalog.Recording)) catalog.Recording {
	r := catalog.Recording{ID: id, SHA256: sha(byte('a' + id%26)), Size: 1000 * int64(id), StartedAt: start.UTC(),
		ReceivedAt: start.UTC(), State: catalog.StateArchived, ArchiveKey: "st01/k", ArchivedAt: start.UTC().Add(2 * time.Hour)}
	for _, m := range mod {
		m(&r)
	}
	return r
}

func held(reasons ...string) func(*catalog.Recording) {
	return func(r *catalog.Recording) {
		for _, reason := range reasons {
			r.Holds = append(r.Holds, catalog.Hold{Reason: reason, By: "admin", Why: "test"})
		}
	}
}

func state(s catalog.State) func(*catalog.Recording) {
	return func(r *catalog.Recording) { r.State = s }
}

func expiringSince(t time.Time) func(*catalog.Recording) {
	return func(r *catalog.Recording) { r.State, r.ExpiringAt = catalog.StateExpiring, t.UTC() }
}

func received(t time.Time) func(*catalog.Recording) {
	return func(r *catalog.Recording) { r.ReceivedAt = t.UTC() }
}

func evicted(r *catalog.Recording) { r.EvictedAt = r.ArchivedAt.Add(time.Hour) }

func content(c byte) func(*catalog.Recording) {
	return func(r *catalog.Recording) { r.SHA256 = sha(c) }
}

func archivedAt(t time.Time) func(*catalog.Recording) {
	return func(r *catalog.Recording) { r.ArchivedAt = t.UTC() }
}

var sixMonths = Period{Months: 6}

func policy(mod ...func(*Policy)) Policy {
	p := Policy{Standard: sixMonths, Location: cst, LocalKeep: 7 * 24 * time.Hour, Grace: 7 * 24 * time.Hour, Archive: true}
	for _, m := range mod {
		m(&p)
	}
	return p
}

// Archived copies far older than local_keep are evicted in every case;
// most cases mark them evicted already to keep the golden files to the point.
func TestPlanGolden(t *testing.T) {
	utc := func(p *Policy) { p.Location = time.UTC }
	localOnly := func(p *Policy) { p.Archive = false }
	tests := []struct {
		name string
		now  time.Time
		recs []catalog.Recording
		p    Policy
		free int64
	}{
		{"six-months-one-second-before", at("2026-11-20 23:59:59"),
			[]catalog.Recording{recAt(1, at("2026-05-21 00:00:00"), evicted)}, policy(), 1 << 40},
		{"six-months-exactly", at("2026-11-21 00:00:00"),
			[]catalog.Recording{recAt(1, at("2026-05-21 00:00:00"), evicted)}, policy(), 1 << 40},
		// 31 August + 6 months: there is no 31 February; the day rolls over
		// into March, so the period is never shorter than six months.
		{"month-end-rolls-over", at("2027-03-03 09:59:59"),
			[]catalog.Recording{
				recAt(1, at("2026-08-31 10:00:00"), evicted),
				recAt(2, at("2026-08-28 10:00:00"), evicted),
			}, policy(), 1 << 40},
		{"leap-day", at("2028-08-29 00:00:00"),
			[]catalog.Recording{
				recAt(1, at("2027-08-29 00:00:00"), evicted), // -> 2028-02-29: expired
				recAt(2, at("2028-02-29 00:00:00"), evicted), // -> 2028-08-29: expires now
				recAt(3, at("2028-02-29 00:00:01"), evicted), // one second short
				recAt(4, at("2027-08-31 12:00:00"), evicted), // -> 2028-03-02: expired
			}, policy(), 1 << 40},
		// 02:00 on 1 September in Shanghai is 18:00 on 31 August in UTC. The
		// station's calendar decides: six months end on 1 March local time.
		{"zone-station-calendar", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
			[]catalog.Recording{recAt(1, time.Date(2026, 8, 31, 18, 0, 0, 0, time.UTC), evicted)}, policy(), 1 << 40},
		{"zone-utc-calendar", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
			[]catalog.Recording{recAt(1, time.Date(2026, 8, 31, 18, 0, 0, 0, time.UTC), evicted)}, policy(utc), 1 << 40},
		{"longer-standard-wins", at("2027-06-01 00:00:00"),
			[]catalog.Recording{recAt(1, at("2026-05-21 00:00:00"), evicted)}, policy(func(p *Policy) { p.Standard = Period{Months: 18} }), 1 << 40},
		{"archive-lock-later-than-policy", at("2026-12-01 00:00:00"),
			[]catalog.Recording{recAt(1, at("2026-05-21 00:00:00"), evicted, func(r *catalog.Recording) {
				r.RetainUntil = at("2027-01-01 00:00:00").UTC()
			})}, policy(), 1 << 40},
		{"permanent-reasons", at("2036-01-01 00:00:00"),
			[]catalog.Recording{
				recAt(1, at("2026-01-01 00:00:00"), evicted, held(ReasonEvidence, ReasonMajorCase)),
				recAt(2, at("2026-01-01 00:00:00"), evicted, held(ReasonObstruction)),
				recAt(3, at("2026-01-01 00:00:00"), evicted, held(ReasonImportantFlag)),
				recAt(4, at("2026-01-01 00:00:00"), evicted), // released: no reason left
			}, policy(), 1 << 40},
		{"never-delete-unarchived", at("2027-06-01 00:00:00"),
			[]catalog.Recording{
				recAt(1, at("2026-05-21 00:00:00"), state(catalog.StateVerified)),
				recAt(2, at("2026-05-21 00:00:00"), state(catalog.StateMissing)),
				recAt(3, at("2026-05-21 00:00:00"), state(catalog.StateCorrupt)),
				recAt(4, at("2026-05-21 00:00:00"), state(catalog.StateExpired), evicted),
			}, policy(), 1 << 40},
		{"local-only", at("2027-06-01 00:00:00"),
			[]catalog.Recording{
				recAt(1, at("2026-05-21 00:00:00"), state(catalog.StateVerified)),
				recAt(2, at("2027-05-21 00:00:00"), state(catalog.StateVerified)),
			}, policy(localOnly), 1 << 40},
		{"grace-period", at("2027-06-08 00:00:00"),
			[]catalog.Recording{
				recAt(1, at("2026-05-21 00:00:00"), evicted, expiringSince(at("2027-06-01 00:00:00"))), // exactly 7 days
				recAt(2, at("2026-05-21 00:00:00"), evicted, expiringSince(at("2027-06-01 00:00:01"))), // one second short
				recAt(3, at("2026-05-21 00:00:00"), evicted, expiringSince(at("2027-06-01 00:00:00")), held(ReasonEvidence)),
			}, policy(), 1 << 40},
		// The station clock went back to 2026 while the catalog has 2027
		// entries: nothing irreversible happens until it is right again.
		{"clock-backwards", at("2026-12-01 00:00:00"),
			[]catalog.Recording{
				recAt(1, at("2026-05-21 00:00:00"), evicted),
				recAt(2, at("2027-01-10 00:00:00"), evicted, func(r *catalog.Recording) { r.ReceivedAt = at("2027-01-10 01:00:00") }),
				recAt(3, at("2026-05-21 00:00:00"), evicted, expiringSince(at("2026-11-01 00:00:00"))),
			}, policy(), 1 << 40},
		// The period counts from the later of start and receipt: footage
		// docked eight months after it was shot is not expiring on its first
		// day; a camera 60 days slow, or one whose clock says 2011, gets six
		// months from the station's receipt; a camera fast by a day gets six
		// months from its own (later) start.
		{"late-dock-counts-from-receipt", at("2027-01-21 12:00:00"),
			[]catalog.Recording{recAt(1, at("2026-05-21 00:00:00"), evicted, received(at("2027-01-21 10:00:00")))}, policy(), 1 << 40},
		{"slow-camera-clock", at("2027-05-21 09:59:59"),
			[]catalog.Recording{
				recAt(1, at("2026-09-22 10:00:00"), evicted, received(at("2026-11-21 10:00:00"))),                      // 60 days slow: not yet
				recAt(2, at("2011-03-01 08:00:00"), evicted, received(at("2026-11-21 10:00:00"))),                      // 2011 clock: not yet
				recAt(3, at("2026-11-22 10:00:00"), evicted, received(at("2026-11-21 10:00:00"))),                      // a day fast: not yet
				recAt(4, at("2026-11-21 09:59:59"), evicted, received(at("2026-11-21 09:59:59"))),                      // on time: due
				recAt(5, at("2011-03-01 08:00:00"), evicted, received(at("2026-11-21 10:00:01"))),                      // one second short
				recAt(6, at("2026-09-22 10:00:00"), state(catalog.StateVerified), received(at("2026-11-21 10:00:00"))), // unarchived
			}, policy(), 1 << 40},
		{"evict-after-local-keep", at("2026-11-23 12:00:00"),
			[]catalog.Recording{
				recAt(1, at("2026-11-10 08:00:00")),
				recAt(2, at("2026-11-16 08:00:00"), archivedAt(at("2026-11-16 12:00:00"))), // exactly 7 days
				recAt(3, at("2026-11-20 08:00:00")),
				recAt(4, at("2026-11-10 08:00:00"), state(catalog.StateVerified)),
			}, policy(), 1 << 40},
		// Free space under min_free: archived copies go early, oldest archive
		// first, and never an unarchived one; still short, docks pause.
		{"evict-under-pressure", at("2026-11-23 12:00:00"),
			[]catalog.Recording{
				recAt(1, at("2026-11-22 08:00:00")),
				recAt(2, at("2026-11-21 08:00:00")),
				recAt(3, at("2026-11-23 08:00:00"), state(catalog.StateVerified)),
			}, policy(func(p *Policy) { p.MinFree = 10_000 }), 2_000},
		// Two recordings with one blob: it stays while either needs it.
		{"shared-blob", at("2026-11-23 12:00:00"),
			[]catalog.Recording{
				recAt(1, at("2026-11-01 08:00:00"), content('x')),
				recAt(2, at("2026-11-01 09:00:00"), content('x'), state(catalog.StateVerified)),
				recAt(3, at("2026-11-01 08:00:00"), content('y')),
				recAt(4, at("2026-11-02 08:00:00"), content('y')),
			}, policy(), 1 << 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.now, tc.recs, tc.p, tc.free)
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			path := filepath.Join("testdata", "plan", tc.name+".json")
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./retention -update)", err)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("plan differs from %s:\n got %s\nwant %s", path, b, want)
			}
		})
	}
}
