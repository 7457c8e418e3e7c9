package dock

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/storage/catalog"
)

func TestEstimateClock(t *testing.T) {
	seen := time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		name    string
		e       clockEvidence
		offset  time.Duration
		basis   string
		suspect bool
	}{
		{"docked right after recording", clockEvidence{newest: seen.Add(-time.Minute), newestNew: true}, 0, catalog.ClockConsistent, false},
		{"docked hours after recording", clockEvidence{newest: seen.Add(-9 * time.Hour), newestNew: true}, 0, catalog.ClockConsistent, false},
		{"docked 29 days after recording", clockEvidence{newest: seen.Add(-29 * day), newestNew: true}, 0, catalog.ClockConsistent, false},
		{"within FAT's 2 s", clockEvidence{newest: seen.Add(2 * time.Second), newestNew: true}, 0, catalog.ClockConsistent, false},
		{"a little fast", clockEvidence{newest: seen.Add(90 * time.Second), newestNew: true}, 90 * time.Second, catalog.ClockAhead, false},
		{"fast", clockEvidence{newest: seen.Add(2 * time.Hour), newestNew: true}, 2 * time.Hour, catalog.ClockAhead, true},
		{"60 days slow", clockEvidence{newest: seen.Add(-60*day - 5*time.Minute), newestNew: true}, -60*day - 5*time.Minute, catalog.ClockStale, true},
		{"set to 2011", clockEvidence{newest: time.Date(2011, 3, 1, 8, 40, 0, 0, time.UTC), newestNew: true},
			time.Date(2011, 3, 1, 8, 40, 0, 0, time.UTC).Sub(seen), catalog.ClockStale, true},
		{"old file already catalogued", clockEvidence{newest: seen.Add(-60 * day)}, 0, catalog.ClockConsistent, false},
		{"2 days slow, emptied here this morning",
			clockEvidence{newest: seen.Add(-50 * time.Hour), newestNew: true, emptied: seen.Add(-10 * time.Hour)}, -40 * time.Hour, catalog.ClockSinceEmptied, true},
		{"docked late after being emptied", clockEvidence{newest: seen.Add(-9 * time.Hour), newestNew: true, emptied: seen.Add(-20 * time.Hour)},
			0, catalog.ClockConsistent, false},
		{"dated before registration", clockEvidence{newest: seen.Add(-400 * day), newestNew: true, registered: seen.Add(-100 * day)},
			-300 * day, catalog.ClockRegistered, true},
		{"the later floor wins", clockEvidence{newest: seen.Add(-5 * day), registered: seen.Add(-4 * day), emptied: seen.Add(-2 * day)},
			-3 * day, catalog.ClockSinceEmptied, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.e.seen = seen
			got := estimateClock(tc.e, 5*time.Minute)
			if got.offset != tc.offset || got.basis != tc.basis || got.suspect != tc.suspect || got.why == "" {
				t.Errorf("got %+v, want offset %v basis %s suspect %v", got, tc.offset, tc.basis, tc.suspect)
			}
		})
	}
}

// writeAt puts a file on a docked camera with the mtime its clock gave it.
func (r *rig) writeAt(rel string, mtime time.Time) string {
	p := r.write(rel, []byte(rel))
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// camName is a gat947 name stamped with t by the camera's clock.
func camName(t time.Time, seq int) string {
	return fmt.Sprintf("J0123456_012345_%s_%04d.MP4", t.UTC().Format("20060102150405"), seq)
}

func (r *rig) clockEvents() []catalog.Event {
	events, err := r.cat.RecentEvents(100)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []catalog.Event
	for _, e := range events {
		if e.Type == catalog.EventClockOffset {
			out = append(out, e)
		}
	}
	return out
}

// Each kind of camera clock, docked once: what the recordings, the custody
// trail, the slot status and the metrics say.
func TestDockCameraClock(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name string
		// start and end of the newest recording by the camera's clock,
		// relative to the station's time at docking.
		start, end func(now time.Time) time.Time
		offset     time.Duration
		basis      string
		flagged    bool
	}{
		{"60 days slow, docked right after recording",
			func(now time.Time) time.Time { return now.Add(-60*day - 15*time.Minute) },
			func(now time.Time) time.Time { return now.Add(-60*day - 5*time.Minute) },
			-60*day - 5*time.Minute, catalog.ClockStale, true},
		{"set to 2011",
			func(time.Time) time.Time { return time.Date(2011, 3, 1, 8, 30, 0, 0, time.UTC) },
			func(time.Time) time.Time { return time.Date(2011, 3, 1, 8, 40, 0, 0, time.UTC) },
			0, catalog.ClockStale, true}, // offset: the whole age, checked below
		{"2 hours fast",
			func(now time.Time) time.Time { return now.Add(2*time.Hour - 10*time.Minute) },
			func(now time.Time) time.Time { return now.Add(2 * time.Hour) },
			2 * time.Hour, catalog.ClockAhead, true},
		{"right clock, docked 9 hours after recording",
			func(now time.Time) time.Time { return now.Add(-9*time.Hour - 10*time.Minute) },
			func(now time.Time) time.Time { return now.Add(-9 * time.Hour) },
			0, catalog.ClockConsistent, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, true)
			now := r.clock.Now()
			r.writeAt("cam1/DCIM/"+camName(tc.start(now).Add(-time.Hour), 1), tc.end(now).Add(-time.Hour))
			r.writeAt("cam1/DCIM/"+camName(tc.start(now), 2), tc.end(now))
			want := tc.offset
			if want == 0 && tc.basis == catalog.ClockStale {
				want = tc.end(now).Sub(now).Round(time.Second)
			}
			r.scanSettled()

			recs := r.all()
			if len(recs) != 2 {
				t.Fatalf("%d records, want 2", len(recs))
			}
			for _, rec := range recs {
				if rec.CameraClockOffset != want || rec.CameraClockBasis != tc.basis || rec.HasFlag(catalog.FlagClockOffset) != tc.flagged {
					t.Errorf("offset %v basis %q flags %v; want %v %q flagged %v",
						rec.CameraClockOffset, rec.CameraClockBasis, rec.Flags, want, tc.basis, tc.flagged)
				}
				if !rec.ReceivedAt.After(now) || rec.CameraTime.IsZero() {
					t.Errorf("camera time %v, received %v: both must be kept", rec.CameraTime, rec.ReceivedAt)
				}
			}
			events := r.clockEvents()
			if len(events) != 1 || !strings.Contains(events[0].Detail, fmt.Sprintf("dock dock-a slot cam1 device J0123456 offset %s basis %s: ", want, tc.basis)) {
				t.Fatalf("clock events %+v", events)
			}
			sl := r.dock.Status().Slots
			if len(sl) != 1 || sl[0].ClockOffset != want || sl[0].ClockBasis != tc.basis || sl[0].ClockSuspect != tc.flagged {
				t.Errorf("slot %+v", sl)
			}
			suspect := 0
			if tc.flagged {
				suspect = 1
			}
			checkClockMetrics(t, r, want, suspect)
		})
	}
}

func checkClockMetrics(t *testing.T, r *rig, offset time.Duration, suspect int) {
	t.Helper()
	want := fmt.Sprintf(`
# HELP custodian_dock_camera_clock_offset_seconds Largest clock offset, either way, of the cameras docked now, as measured when each docked, by dock (0: none).
# TYPE custodian_dock_camera_clock_offset_seconds gauge
custodian_dock_camera_clock_offset_seconds{dock="dock-a"} %g
# HELP custodian_dock_clock_suspect_total Dockings of a camera whose clock was off by more than the dock's max_clock_offset, by dock.
# TYPE custodian_dock_clock_suspect_total counter
custodian_dock_clock_suspect_total{dock="dock-a"} %d
`, max(offset, -offset).Seconds(), suspect)
	if err := testutil.CollectAndCompare(r.metrics.ClockOffset, strings.NewReader(want), "custodian_dock_camera_clock_offset_seconds"); err != nil {
		t.Error(err)
	}
	if err := testutil.CollectAndCompare(r.metrics.ClockSuspect, strings.NewReader(want), "custodian_dock_clock_suspect_total"); err != nil {
		t.Error(err)
	}
}

// undock takes the camera out of its slot; dock puts it back.
func (r *rig) undock(slot string) {
	if err := os.Rename(filepath.Join(r.root, slot), filepath.Join(r.data, "away-"+slot)); err != nil {
		r.t.Fatal(err)
	}
	r.dock.Scan(context.Background(), nil)
}

func (r *rig) redock(slot string) {
	if err := os.Rename(filepath.Join(r.data, "away-"+slot), filepath.Join(r.root, slot)); err != nil {
		r.t.Fatal(err)
	}
}

// A camera this dock emptied comes back two days slow: within what a camera
// may stay undocked, but every file is dated before the dock emptied it.
func TestDockCameraClockSinceEmptied(t *testing.T) {
	r := newRig(t, true)
	t0 := r.clock.Now()
	r.writeAt("cam1/"+camName(t0.Add(-20*time.Minute), 1), t0.Add(-10*time.Minute))
	r.scanSettled() // copied and deleted at t0+6s
	emptiedAt := r.clock.Now()
	r.dock.Scan(context.Background(), nil) // empty now: the docking ends
	r.undock("cam1")
	if got := r.dock.Status().Slots; len(got) != 0 {
		t.Fatalf("slots after undocking: %+v", got)
	}
	checkClockMetrics(t, r, 0, 0)

	// Recorded at t0+8h by a clock two days slow, docked at t0+12h.
	r.clock.Add(12 * time.Hour)
	mtime := t0.Add(8*time.Hour - 48*time.Hour)
	r.writeAt("cam1/"+camName(mtime.Add(-10*time.Minute), 2), mtime)
	r.scanSettled()
	want := mtime.Sub(emptiedAt).Round(time.Second)
	var rec catalog.Recording
	for _, x := range r.all() {
		if x.Seq == 2 {
			rec = x
		}
	}
	if rec.CameraClockOffset != want || rec.CameraClockBasis != catalog.ClockSinceEmptied || !rec.HasFlag(catalog.FlagClockOffset) {
		t.Fatalf("offset %v basis %q flags %v; want %v since-emptied, flagged", rec.CameraClockOffset, rec.CameraClockBasis, rec.Flags, want)
	}
	checkClockMetrics(t, r, want, 1)
}

// A camera unplugged mid-offload still holds files from before: they prove
// nothing about its clock when it comes back.
func TestDockCameraClockAfterInterruptedOffload(t *testing.T) {
	r := newRig(t, true)
	t0 := r.clock.Now()
	r.writeAt("cam1/"+camName(t0.Add(-30*time.Minute), 1), t0.Add(-20*time.Minute))
	r.scanSettled()
	r.dock.Scan(context.Background(), nil) // emptied
	r.undock("cam1")

	// Next shift: two files, unplugged before they settle.
	r.clock.Add(12 * time.Hour)
	r.redock("cam1")
	t1 := r.clock.Now()
	r.writeAt("cam1/"+camName(t1.Add(-3*time.Hour), 2), t1.Add(-2*time.Hour))
	r.writeAt("cam1/"+camName(t1.Add(-2*time.Hour), 3), t1.Add(-time.Hour))
	r.dock.Scan(context.Background(), nil)
	r.undock("cam1")

	// Docked again an hour later: the files it kept are older than the last
	// time the dock saw it, with a right clock.
	r.clock.Add(time.Hour)
	r.redock("cam1")
	r.scanSettled()
	for _, rec := range r.all() {
		if rec.Seq > 1 && (rec.HasFlag(catalog.FlagClockOffset) || rec.CameraClockBasis != catalog.ClockConsistent) {
			t.Errorf("seq %d: offset %v basis %q flags %v", rec.Seq, rec.CameraClockOffset, rec.CameraClockBasis, rec.Flags)
		}
	}
	if n := len(r.all()); n != 3 {
		t.Fatalf("%d records, want 3", n)
	}
}

// A dock that leaves files on the camera sees old, catalogued ones again at
// every docking: their age says nothing about the clock.
func TestDockCameraClockKeptFiles(t *testing.T) {
	r := newRig(t, false)
	t0 := r.clock.Now()
	r.writeAt("cam1/"+camName(t0.Add(-20*time.Minute), 1), t0.Add(-10*time.Minute))
	r.scanSettled()
	r.undock("cam1")
	r.clock.Add(40 * 24 * time.Hour)
	r.redock("cam1")
	r.scanSettled()
	sl := r.dock.Status().Slots
	if len(sl) != 1 || sl[0].ClockBasis != catalog.ClockConsistent || sl[0].ClockSuspect {
		t.Fatalf("slot %+v", sl)
	}
	if n := len(r.clockEvents()); n != 2 {
		t.Fatalf("%d clock events, want one per docking", n)
	}
}
