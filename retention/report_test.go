package retention

import (
	"slices"
	"testing"
	"time"

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
	rep := MakeReport(day, at("2026-11-22 08:00:00"), recs, gaps, policy(), 1<<40)
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
	rep := MakeReport(day, at("2026-11-22 08:00:00"), recs, nil, policy(), 1<<40)
	want := []ClockRow{
		{Device: "J2011", OffsetSeconds: stale.Seconds(), Basis: catalog.ClockStale, Recordings: 2, Flagged: true},
		{Device: "JFAST", OffsetSeconds: 7200, Basis: catalog.ClockAhead, Recordings: 2, Flagged: true},
	}
	if !slices.Equal(rep.ClockOffsets, want) {
		t.Fatalf("clock offsets\n got %+v\nwant %+v", rep.ClockOffsets, want)
	}
}
