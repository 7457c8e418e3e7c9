package retention

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"custodian/hardware/camera"
	"custodian/storage/catalog"
)

// Report is the daily completeness report supervisors check: did recording
// happen, and did it reach the archive.
type Report struct {
	Day      string      `json:"day"`
	Officers []ReportRow `json:"officers"`
	Devices  []ReportRow `json:"devices"`
	Rooms    []ReportRow `json:"rooms"`
	// Held and Expired count the day's recordings in those conditions.
	Held    int `json:"held"`
	Expired int `json:"expired"`
	// Trouble lists recordings of the day that are missing or corrupt.
	Trouble []uint64 `json:"trouble,omitempty"`
	// EnteringGrace lists recordings (of any day) that will be marked
	// deleted within the next seven days, so none is a surprise.
	EnteringGrace []Action `json:"entering_grace"`
	// ClockOffsets lists the cameras whose clock was off when they docked
	// that day (recordings received that day, whatever their camera time).
	ClockOffsets []ClockRow `json:"clock_offsets,omitempty"`
	// NotDocked names who and what should have docked that day and did not.
	NotDocked NotDocked `json:"not_docked"`
}

// NotDocked lists the officers and devices registered on the day (rows of
// the devices table in force at any time of it) from which the station
// received no recording that day: a camera left in a locker, an officer
// who went home without docking. Received, not recorded: a camera whose
// clock says 2011 docked the day it docked.
type NotDocked struct {
	Officers []string `json:"officers"`
	Devices  []string `json:"devices"`
}

// ClockRow is one camera's clock as measured when it docked on the day:
// the largest offset on its recordings received that day, and its basis
// (catalog.Clock*; "stale" may as well be a camera long undocked).
type ClockRow struct {
	Device string `json:"device"`
	// OffsetSeconds is the camera's clock minus the station's; negative: slow.
	OffsetSeconds float64 `json:"offset_seconds"`
	Basis         string  `json:"basis"`
	Recordings    int     `json:"recordings"`
	// Flagged: beyond the dock's max_clock_offset (recordings flagged clock-offset).
	Flagged bool `json:"flagged,omitempty"`
}

// ReportRow counts one officer's, device's or room's recordings of the day.
type ReportRow struct {
	Key      string `json:"key"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	Archived int    `json:"archived"`
	Pending  int    `json:"pending"` // not yet archived
	// Seconds is the recorded time of a room's segments; GapSeconds and
	// Gaps the time it went unrecorded, by reason.
	Seconds    float64            `json:"seconds,omitempty"`
	GapSeconds float64            `json:"gap_seconds,omitempty"`
	Gaps       map[string]float64 `json:"gaps,omitempty"`
}

// ReportWindow is how far ahead the report looks for coming expiries.
const ReportWindow = 7 * 24 * time.Hour

// MakeReport builds the report for the station-local day that starts at
// dayStart (in p.Location), from every recording and the devices table, at
// time now.
func MakeReport(dayStart, now time.Time, recs []catalog.Recording, gaps []catalog.Gap, p Policy, free int64, devices camera.Devices) Report {
	rep := dayReport(dayStart, recs, gaps, p)
	rep.ClockOffsets = clockRows(dayStart, dayStart.AddDate(0, 0, 1), recs)
	rep.NotDocked = notDocked(dayStart, dayStart.AddDate(0, 0, 1), devices, recs)
	rep.EnteringGrace = enteringGrace(Plan(now.Add(ReportWindow), recs, p, free))
	return rep
}

// dayReport counts the recordings in recs that started on the day, and the
// gaps; EnteringGrace is left to the caller.
func dayReport(dayStart time.Time, recs []catalog.Recording, gaps []catalog.Gap, p Policy) Report {
	if p.Location == nil {
		p.Location = time.UTC
	}
	dayEnd := dayStart.AddDate(0, 0, 1)
	rep := Report{Day: dayStart.In(p.Location).Format(time.DateOnly)}
	officers, devices, rooms := map[string]*ReportRow{}, map[string]*ReportRow{}, map[string]*ReportRow{}
	row := func(m map[string]*ReportRow, k string) *ReportRow {
		if m[k] == nil {
			m[k] = &ReportRow{Key: k}
		}
		return m[k]
	}
	for i := range recs {
		r := &recs[i]
		if r.StartedAt.Before(dayStart) || !r.StartedAt.Before(dayEnd) {
			continue
		}
		var rows []*ReportRow
		if r.Source == catalog.SourceRoom {
			room := row(rooms, r.SourceID)
			if !r.EndedAt.IsZero() {
				room.Seconds += r.EndedAt.Sub(r.StartedAt).Seconds()
			}
			rows = append(rows, room)
		} else {
			rows = append(rows, row(officers, cmp.Or(r.Officer, "unknown")), row(devices, cmp.Or(r.Device, "unknown")))
		}
		for _, x := range rows {
			x.Files++
			x.Bytes += r.Size
			switch r.State {
			case catalog.StateArchived, catalog.StateExpiring, catalog.StateExpired:
				x.Archived++
			default:
				x.Pending++
			}
		}
		if r.Permanent() {
			rep.Held++
		}
		switch r.State {
		case catalog.StateExpired:
			rep.Expired++
		case catalog.StateMissing, catalog.StateCorrupt:
			rep.Trouble = append(rep.Trouble, r.ID)
		}
	}
	for _, g := range gaps {
		start, end := maxTime(g.Start, dayStart), g.End
		if end.After(dayEnd) {
			end = dayEnd
		}
		if !end.After(start) {
			continue
		}
		room := row(rooms, g.Room)
		if room.Gaps == nil {
			room.Gaps = map[string]float64{}
		}
		room.Gaps[g.Reason] += end.Sub(start).Seconds()
		room.GapSeconds += end.Sub(start).Seconds()
	}
	rep.Officers, rep.Devices, rep.Rooms = sorted(officers), sorted(devices), sorted(rooms)
	return rep
}

// enteringGrace are the recordings a plan marks deleted.
func enteringGrace(res Result) []Action {
	out := []Action{}
	for _, a := range res.Actions {
		if a.Kind == MarkExpired {
			out = append(out, a)
		}
	}
	return out
}

// clockRows gathers, by device, the clock offsets measured on the
// recordings received in [start, end).
func clockRows(start, end time.Time, recs []catalog.Recording) []ClockRow {
	byDevice := map[string]*ClockRow{}
	var out []ClockRow
	for i := range recs {
		r := &recs[i]
		if r.CameraClockOffset == 0 || r.ReceivedAt.Before(start) || !r.ReceivedAt.Before(end) {
			continue
		}
		dev := cmp.Or(r.Device, "unknown")
		row := byDevice[dev]
		if row == nil {
			row = &ClockRow{Device: dev}
			byDevice[dev] = row
		}
		row.Recordings++
		row.Flagged = row.Flagged || r.HasFlag(catalog.FlagClockOffset)
		if s := r.CameraClockOffset.Seconds(); math.Abs(s) > math.Abs(row.OffsetSeconds) {
			row.OffsetSeconds, row.Basis = s, r.CameraClockBasis
		}
	}
	for _, row := range byDevice {
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b ClockRow) int { return cmp.Compare(a.Device, b.Device) })
	return out
}

// notDocked lists who and what of the devices table, in force at some
// time of [start, end), sent none of the recordings received in it.
func notDocked(start, end time.Time, devices camera.Devices, recs []catalog.Recording) NotDocked {
	officers, serials := map[string]bool{}, map[string]bool{}
	for i := range recs {
		if r := &recs[i]; !r.ReceivedAt.Before(start) && r.ReceivedAt.Before(end) {
			officers[r.Officer], serials[r.Device] = true, true
		}
	}
	out := NotDocked{Officers: []string{}, Devices: []string{}}
	for _, d := range devices {
		if !d.From.IsZero() && !d.From.Before(end) || !d.To.IsZero() && !d.To.After(start) {
			continue // not issued yet, or handed back
		}
		if !serials[d.Serial] {
			out.Devices = append(out.Devices, d.Serial)
		}
		if d.Officer != "" && !officers[d.Officer] {
			out.Officers = append(out.Officers, d.Officer)
		}
	}
	slices.Sort(out.Officers)
	slices.Sort(out.Devices)
	out.Officers, out.Devices = slices.Compact(out.Officers), slices.Compact(out.Devices)
	return out
}

func sorted(m map[string]*ReportRow) []ReportRow {
	out := make([]ReportRow, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ReportRow) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// ReportFor builds the completeness report of the station-local day
// starting at day. It reads the day's recordings by their start, and those
// that may enter the grace period within ReportWindow by the retention
// indexes, not the whole catalog.
func (g *Manager) ReportFor(ctx context.Context, day time.Time) (Report, error) {
	recs, err := g.cat.ListContext(ctx, catalog.Filter{From: day, To: day.AddDate(0, 0, 1)})
	if err != nil {
		return Report{}, err
	}
	// What enters its grace period within the window: a week's plan, read
	// a batch at a time, of which only the mark-expired steps are kept.
	grace := []Action{}
	_, err = g.PlanEach(ctx, g.cfg.Now().Add(ReportWindow), func(a Action) error {
		if a.Kind == MarkExpired {
			grace = append(grace, a)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	var gaps []catalog.Gap
	for _, room := range g.cfg.Rooms {
		gs, err := g.cat.Gaps(room, day.AddDate(0, 0, -7), day.AddDate(0, 0, 1))
		if err != nil {
			return Report{}, err
		}
		gaps = append(gaps, gs...)
	}
	rep := dayReport(day, recs, gaps, g.cfg.Policy)
	// Cameras docked that day, whatever day their clocks claim.
	received, err := g.cat.Received(day, day.AddDate(0, 0, 1))
	if err != nil {
		return Report{}, err
	}
	rep.ClockOffsets = clockRows(day, day.AddDate(0, 0, 1), received)
	rep.NotDocked = notDocked(day, day.AddDate(0, 0, 1), g.cfg.Devices, received)
	rep.EnteringGrace = grace
	return rep, nil
}
