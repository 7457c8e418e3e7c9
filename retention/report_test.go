package retention

import (
	"context"
	"slices"
	"testing"
	"time"

	"custodian/hardware/camera"
	"custodian/storage/catalog"
)

func TestMakeReport(t *testing.T) {
	day := at("2026-11-21 00:00:00")
	room := func(id uint64, start time.Time, minutes int) catalog.Recording {
		r := recAt(id, start, state(catalog.StateVerified))
		r.Source, r.SourceID, r.EndedAt = catalog.SourceRoom, "interview-1", start.UTC().Add(time.Duration(minutes)*time.Minute)
		return r
	}
	dock := func(id uint64, start time.Time, officer string, mod ...func(*catalog.Recording)) catalog.Recording {
		r := recAt(id, start, mod...)
		r.Source, r.SourceID, r.Officer, r.Device = catalog.SourceDock, "dock-a", officer, "J"+officer
		return r
	}
	recs := []catalog.Recording{
		dock(1, at("2026-11-21 08:00:00"), "111"),
		dock(2, at("2026-11-21 09:00:00"), "111", state(catalog.StateVerified), held(ReasonEvidence)),
		dock(3, at("2026-11-21 23:59:59"), "222", state(catalog.StateMissing)),
		dock(4, at("2026-11-22 00:00:00"), "222"), // the next day
		room(5, at("2026-11-21 10:00:00"), 10),
		room(6, at("2026-11-21 10:10:00"), 5),
	}
	gaps := []catalog.Gap{
		{Room: "interview-1", Start: at("2026-11-21 10:15:00").UTC(), End: at("2026-11-21 10:15:30").UTC(), Reason: "disconnect"},
		{Room: "interview-1", Start: at("2026-11-20 23:59:00").UTC(), End: at("2026-11-21 00:01:00").UTC(), Reason: "crash"}, // half in the day
		{Room: "interview-2", Start: at("2026-11-21 12:00:00").UTC(), End: at("2026-11-21 13:00:00").UTC(), Reason: "disconnect"},
	}
	rep := MakeReport(day, at("2026-11-22 08:00:00"), recs, gaps, policy(), 1<<40, nil)
	if rep.Day != "2026-11-21" || rep.Held != 1 || len(rep.Trouble) != 1 || rep.Trouble[0] != 3 {
		t.Fatalf("report %+v", rep)
	}
	if o := rep.Officers; len(o) != 2 || o[0].Key != "111" || o[0].Files != 2 || o[0].Bytes != 3000 ||
		o[0].Archived != 1 || o[0].Pending != 1 || o[1].Files != 1 {
		t.Fatalf("officers %+v", rep.Officers)
	}
	if len(rep.Rooms) != 2 {
		t.Fatalf("rooms %+v", rep.Rooms)
	}
	r1, r2 := rep.Rooms[0], rep.Rooms[1]
	if r1.Files != 2 || r1.Seconds != 900 || r1.GapSeconds != 90 || r1.Gaps["disconnect"] != 30 || r1.Gaps["crash"] != 60 {
		t.Fatalf("room 1 %+v", r1)
	}
	if r2.Files != 0 || r2.GapSeconds != 3600 {
		t.Fatalf("a room down all afternoon must show: %+v", r2)
	}
}

// The report lists the cameras whose clock was off when they docked that
// day, by the day of receipt: a camera set to 2011 docked today is today's.
func TestMakeReportClockOffsets(t *testing.T) {
	day := at("2026-11-21 00:00:00")
	dock := func(id uint64, device string, received time.Time, offset time.Duration, basis string, flagged bool) catalog.Recording {
		r := recAt(id, at("2011-03-01 08:30:00"))
		r.Source, r.SourceID, r.Device, r.ReceivedAt = catalog.SourceDock, "dock-a", device, received.UTC()
		r.CameraClockOffset, r.CameraClockBasis = offset, basis
		if flagged {
			r.AddFlag(catalog.FlagClockOffset)
		}
		return r
	}
	stale := -time.Duration(5744) * 24 * time.Hour
	recs := []catalog.Recording{
		dock(1, "J2011", at("2026-11-21 18:00:00"), stale, catalog.ClockStale, true),
		dock(2, "J2011", at("2026-11-21 18:00:01"), stale, catalog.ClockStale, true),
		dock(3, "JFAST", at("2026-11-21 09:00:00"), 90*time.Second, catalog.ClockAhead, false),
		dock(4, "JFAST", at("2026-11-21 19:00:00"), 2*time.Hour, catalog.ClockAhead, true),
		dock(5, "JGOOD", at("2026-11-21 10:00:00"), 0, catalog.ClockConsistent, false),
		dock(6, "JLATE", at("2026-11-22 00:00:00"), time.Hour, catalog.ClockAhead, true), // the next day
	}
	rep := MakeReport(day, at("2026-11-22 08:00:00"), recs, nil, policy(), 1<<40, nil)
	want := []ClockRow{
		{Device: "J2011", OffsetSeconds: stale.Seconds(), Basis: catalog.ClockStale, Recordings: 2, Flagged: true},
		{Device: "JFAST", OffsetSeconds: 7200, Basis: catalog.ClockAhead, Recordings: 2, Flagged: true},
	}
	if !slices.Equal(rep.ClockOffsets, want) {
		t.Fatalf("clock offsets\n got %+v\nwant %+v", rep.ClockOffsets, want)
	}
}

// The report names the registered officers and devices (the devices table,
// rows in force that day) from which nothing was received that day.
func TestReportNotDocked(t *testing.T) {
	day := at("2026-11-21 00:00:00")
	devices := camera.Devices{
		{Serial: "J1", Officer: "111"},
		{Serial: "J2", Officer: "222"},
		{Serial: "J3", Officer: "333", To: at("2026-11-21 00:00:00")},   // handed back before the day
		{Serial: "J4", Officer: "444", From: at("2026-11-22 00:00:00")}, // issued after it
		{Serial: "J5", Officer: "555", From: at("2026-11-21 12:00:00")}, // issued during it
		{Serial: "J6"},                   // a pooled camera nobody holds
		{Serial: "J2", Officer: "666"},   // shared: docked by 222
		{Serial: "J7", Officer: "111"},   // 111's second camera, left in a locker
		{Serial: "J8", Officer: "888"},   // docked only the day before
		{Serial: "J9", Officer: "999"},   // its officer docked a borrowed camera
		{Serial: "J10", Officer: "1010"}, // docked, the file names an officer unknown here
	}
	dock := func(id uint64, device, officer string, received time.Time) catalog.Recording {
		r := recAt(id, at("2026-11-20 08:00:00"))
		r.Source, r.SourceID, r.Device, r.Officer, r.ReceivedAt = catalog.SourceDock, "dock-a", device, officer, received.UTC()
		return r
	}
	recs := []catalog.Recording{
		dock(1, "J1", "111", at("2026-11-21 08:00:00")),
		dock(2, "J2", "222", at("2026-11-21 23:59:59")),
		dock(3, "J8", "888", at("2026-11-20 23:59:59")),
		dock(4, "J9X", "999", at("2026-11-21 09:00:00")),
		dock(5, "J10", "777", at("2026-11-21 09:00:00")),
		dock(6, "J3", "333", at("2026-11-22 00:00:00")), // the next day
	}
	rep := MakeReport(day, at("2026-11-22 08:00:00"), recs, nil, policy(), 1<<40, devices)
	want := NotDocked{Officers: []string{"1010", "555", "666", "888"}, Devices: []string{"J5", "J6", "J7", "J8", "J9"}}
	if !slices.Equal(rep.NotDocked.Officers, want.Officers) || !slices.Equal(rep.NotDocked.Devices, want.Devices) {
		t.Fatalf("not docked\n got %+v\nwant %+v", rep.NotDocked, want)
	}
	// Without a devices table nobody is registered: empty lists, not null.
	rep = MakeReport(day, at("2026-11-22 08:00:00"), recs, nil, policy(), 1<<40, nil)
	if rep.NotDocked.Officers == nil || rep.NotDocked.Devices == nil || len(rep.NotDocked.Officers)+len(rep.NotDocked.Devices) != 0 {
		t.Fatalf("without a devices table: %#v", rep.NotDocked)
	}
}

// ReportFor reads who docked from the receipt index: a camera set to 2011
// that docked today docked today.
func TestReportForNotDocked(t *testing.T) {
	e := newEnv(t, t.TempDir())
	devices := camera.Devices{{Serial: "J0000001", Officer: "100001"}, {Serial: "J0000002", Officer: "100002"}}
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}, Location: time.UTC}, Now: e.Now, Devices: devices},
		e.cat, e.staging, nil, quiet, nil)
	e.ingest(t, []byte("footage from a camera set to 2011"), time.Date(2011, 3, 1, 8, 0, 0, 0, time.UTC), "100001")
	rep, err := g.ReportFor(context.Background(), e.Now().UTC().Truncate(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.NotDocked.Officers, []string{"100002"}) || !slices.Equal(rep.NotDocked.Devices, []string{"J0000002"}) {
		t.Fatalf("not docked %+v", rep.NotDocked)
	}
}
