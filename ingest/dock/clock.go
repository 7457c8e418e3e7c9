package dock

import (
	"cmp"
	"fmt"
	"path/filepath"
	"time"

	"custodian/ingest"
	"custodian/internal/text"
	"custodian/storage/catalog"
)

// A camera's clock stamps the names and the mtimes of its files, and it may
// be wrong by minutes or by years. Every time a camera docks, the dock
// measures it from the newest file's mtime (the camera's clock when it last
// wrote), before any file is taken, records the measurement as a custody
// event and on every recording of that docking, and flags those recordings
// when the clock is off by more than max_clock_offset.
//
// What the files can prove (the offset is the camera's time minus the
// station's; negative is slow):
//
//   - A file is written before the scan that sees it, so an mtime after the
//     scan's station time proves a fast clock, by at least the difference
//     (ClockAhead).
//   - An mtime before the scan proves nothing by itself: a camera docked
//     hours after its last recording shows an mtime hours old with a
//     perfect clock. A slow clock is proven only against a station time
//     known to precede the file. Two are known: the scan in which this dock
//     last saw the camera with files that it then copied and deleted, every
//     one (the camera was empty after it, so whatever it holds now was
//     written later: ClockSinceEmptied); and the device's registration in
//     the devices table (ClockRegistered, the rule CheckClock applies to
//     each file). The first is kept in memory only, by device, and only
//     where the dock deletes what it copies; a camera that left with files
//     not deleted (unplugged mid-offload) proves nothing, since what it
//     still holds is older.
//   - Beyond that, a newest file older than its docking by more than
//     MaxUndocked plus max_clock_offset is either a clock that slow or a
//     camera out of use that long, and the files cannot tell which. It is
//     flagged with the whole age as the offset and both readings in the
//     reason (ClockStale): a camera set to 2011 is caught here.
//
// Names are not used: a name gives the start of a file from the same clock
// as its later mtime, so it bounds nothing the mtime does not, and where
// the two disagree CheckClock flags the file itself. A whole number of
// hours ahead or behind usually means the dock mounts the camera's FAT card
// in another time zone than the camera keeps; the mount option is at fault
// then, not the camera. No device sidecar carries a clock in the built-in
// profiles, so none is read.

// MaxUndocked is how long a camera in use plausibly stays out of its dock.
// Cameras are docked at the end of every shift and overwrite their oldest
// footage when full, so a newest file a month older than its docking is
// more likely a wrong clock; a camera really left a month in a drawer
// deserves the administrator's look as well.
const MaxUndocked = 30 * 24 * time.Hour

// clockResolution: camera cards keep FAT file times, to 2 seconds; an offset
// within that is no evidence.
const clockResolution = 2 * time.Second

// docking is what the dock knows of the camera in one slot from the scan
// that first finds files there until the slot is empty or gone.
type docking struct {
	device   string
	clock    *clockEstimate // nil until measured
	recorded bool           // its custody event is in the catalog
	lastSeen time.Time      // the last scan that found files in the slot
	lost     bool           // a file left without this dock deleting it
}

// clockEvidence is what a docking shows of a camera's clock.
type clockEvidence struct {
	seen       time.Time // station time of the scan that saw the files
	newest     time.Time // the newest file's mtime, by the camera's clock
	newestNew  bool      // the newest file is not in the catalog yet
	emptied    time.Time // this dock emptied the camera then; zero: unknown
	registered time.Time // the device's registration; zero: unknown
}

// clockEstimate is a measured offset: camera minus station, to the second.
type clockEstimate struct {
	offset  time.Duration
	basis   string // catalog.Clock*
	why     string
	suspect bool // off by more than max_clock_offset
}

// estimateClock measures a camera's clock from what one docking shows; see
// the comment at the top of this file.
func estimateClock(e clockEvidence, maxOffset time.Duration) clockEstimate {
	ahead := e.newest.Sub(e.seen).Round(time.Second)
	floor, basis, since := e.emptied, catalog.ClockSinceEmptied, "this dock last emptied the camera"
	if e.registered.After(floor) {
		floor, basis, since = e.registered, catalog.ClockRegistered, "the device was registered"
	}
	behind := e.newest.Sub(floor).Round(time.Second)
	var est clockEstimate
	switch {
	case ahead > clockResolution:
		est = clockEstimate{offset: ahead, basis: catalog.ClockAhead,
			why: fmt.Sprintf("the newest file is dated %s after the station's time that saw it: at least that fast", ahead)}
	case !floor.IsZero() && behind < -clockResolution:
		est = clockEstimate{offset: behind, basis: basis,
			why: fmt.Sprintf("every file is dated before %s (%s), the newest by %s: at least that slow",
				since, floor.UTC().Format(time.RFC3339), -behind)}
	case e.newestNew && -ahead > MaxUndocked+maxOffset:
		est = clockEstimate{offset: ahead, basis: catalog.ClockStale,
			why: fmt.Sprintf("the newest file is dated %s before its docking: the clock is that slow, or the camera was not docked for that long", -ahead)}
	default:
		est = clockEstimate{basis: catalog.ClockConsistent,
			why: fmt.Sprintf("the newest file is dated %s before its docking; nothing shows the clock wrong", max(-ahead, 0))}
	}
	est.suspect = est.offset > maxOffset || -est.offset > maxOffset
	return est
}

// checkClocks measures the clock of every camera that docked since the last
// scan and records it, before any of its files is taken. It returns the
// slots whose measurement could not be made or recorded: their files wait
// for the next scan.
func (d *Dock) checkClocks(wk *walkState) map[string]bool {
	failed := map[string]bool{}
	for slot, newest := range wk.newest {
		d.mu.Lock()
		dk := d.dockings[slot] // forget made one for every slot with files
		done := dk == nil || dk.recorded
		d.mu.Unlock()
		if done {
			continue
		}
		err := d.measureClock(wk.now, slot, dk, newest)
		if err == nil {
			err = d.recordClock(slot, dk)
		}
		if err != nil {
			failed[slot] = true
			if d.env.Metrics != nil {
				d.env.Metrics.Errors.WithLabelValues(string(catalog.SourceDock), ingest.ErrKindCatalog).Inc()
			}
			d.env.Log.Warn("camera clock not measured; its files wait", keySlot, text.Printable(slot), keyErr, err)
		}
	}
	d.clockGauge()
	return failed
}

// measureClock estimates the clock of the camera docked in slot from its
// newest file, once per docking.
func (d *Dock) measureClock(now time.Time, slot string, dk *docking, newest candidate) error {
	d.mu.Lock()
	measured := dk.clock != nil
	d.mu.Unlock()
	if measured {
		return nil // only its custody event failed before
	}
	m := d.cfg.Profile.Parse(filepath.Base(newest.path), d.env.Location)
	device := d.deviceOf(newest, m.Device)
	known, err := d.known(newest, device)
	if err != nil {
		return err
	}
	d.mu.Lock()
	emptied := d.emptied[device]
	d.mu.Unlock()
	est := estimateClock(clockEvidence{seen: now, newest: newest.info.ModTime(), newestNew: !known,
		emptied: emptied, registered: d.env.Devices.RegisteredSince(device)}, d.cfg.MaxClockOffset)
	d.mu.Lock()
	dk.device, dk.clock = device, &est
	if st := d.slots[slot]; st != nil {
		st.ClockOffset, st.ClockBasis, st.ClockSuspect = est.offset, est.basis, est.suspect
		if st.Device == "" {
			st.Device = device
		}
	}
	d.mu.Unlock()
	log := d.env.Log.Info
	if est.suspect {
		log = d.env.Log.Warn
		if d.env.Metrics != nil {
			d.env.Metrics.ClockSuspect.WithLabelValues(d.cfg.ID).Inc()
		}
	}
	log("camera clock measured", keySlot, text.Printable(slot), keyDevice, device,
		keyOffset, est.offset, keyBasis, est.basis, keyReason, est.why)
	return nil
}

// recordClock appends the docking's measurement to the custody trail.
func (d *Dock) recordClock(slot string, dk *docking) error {
	est := dk.clock
	err := d.env.Catalog.Append(catalog.Event{Type: catalog.EventClockOffset,
		Detail: fmt.Sprintf("dock %s slot %s device %s offset %s basis %s: %s",
			d.cfg.ID, text.Printable(slot), cmp.Or(dk.device, "unknown"), est.offset, est.basis, est.why)})
	if err != nil {
		return err
	}
	d.mu.Lock()
	dk.recorded = true
	d.mu.Unlock()
	return nil
}

// applyClock notes on a recording the clock measured when its camera docked.
func (d *Dock) applyClock(r *catalog.Recording, slot string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dk := d.dockings[slot]
	if dk == nil || dk.clock == nil {
		return
	}
	r.CameraClockOffset, r.CameraClockBasis = dk.clock.offset, dk.clock.basis
	if dk.clock.suspect {
		r.AddFlag(catalog.FlagClockOffset)
	}
}

// followDockings starts a docking for each slot that has files and ends the
// one of each slot that is empty or gone; d.mu is held.
func (d *Dock) followDockings(wk *walkState) {
	for name, st := range wk.slots {
		dk := d.dockings[name]
		files := st.PendingFiles + st.KeptFiles
		switch {
		case files > 0 && dk == nil:
			d.dockings[name] = &docking{lastSeen: wk.now}
		case files > 0:
			dk.lastSeen = wk.now
		case dk != nil:
			d.endDocking(name, dk)
		}
	}
	for name, dk := range d.dockings {
		if wk.slots[name] == nil {
			d.endDocking(name, dk)
		}
	}
}

// endDocking forgets a slot's docking. When this dock copied and deleted
// every file the camera showed, the camera held nothing after the last scan
// that saw files: whatever it brings next was written later. d.mu is held.
func (d *Dock) endDocking(slot string, dk *docking) {
	if d.cfg.DeleteAfterIngest && !dk.lost && dk.device != "" {
		d.emptied[dk.device] = dk.lastSeen
	}
	delete(d.dockings, slot)
}

// clockGauge sets the dock's gauge to the largest offset, either way, among
// the cameras docked now.
func (d *Dock) clockGauge() {
	if d.env.Metrics == nil {
		return
	}
	var worst time.Duration
	d.mu.Lock()
	for _, st := range d.slots {
		worst = max(worst, st.ClockOffset, -st.ClockOffset)
	}
	d.mu.Unlock()
	d.env.Metrics.ClockOffset.WithLabelValues(d.cfg.ID).Set(worst.Seconds())
}
