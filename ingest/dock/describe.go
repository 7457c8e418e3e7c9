package dock

import (
	"path/filepath"
	"time"
	"unicode/utf8"

	"custodian/hardware/camera"
	"custodian/internal/text"
	"custodian/storage/catalog"
)

// describe reads what the file name, the camera folder and the devices table
// say about a file.
func (d *Dock) describe(c candidate) catalog.Recording {
	name := filepath.Base(c.path)
	rel, _ := filepath.Rel(c.camDir(), c.rel)
	now := d.env.Now()
	m := d.cfg.Profile.Parse(name, d.env.Location)
	r := catalog.Recording{
		Station:    d.env.Station,
		Source:     catalog.SourceDock,
		SourceID:   d.cfg.ID,
		Slot:       text.Printable(c.slot),
		Profile:    d.cfg.Profile.Name(),
		Name:       text.Printable(name),
		RelPath:    text.Printable(rel),
		Ext:        m.Ext,
		Kind:       m.Kind,
		Seq:        m.Seq,
		Important:  m.Important,
		Locked:     m.Locked,
		ModTime:    c.info.ModTime().UTC(),
		ReceivedAt: now.UTC(),
		Device:     d.deviceOf(c, m.Device),
		Officer:    m.Officer,
	}
	if !utf8.ValidString(name) {
		r.NameRaw = []byte(name)
		r.AddFlag(catalog.FlagNameNotUTF8)
	}
	if !m.Parsed && d.cfg.Profile.Name() != "generic" {
		r.AddFlag(catalog.FlagUnparsed)
	}
	d.date(&r, c, m, now)
	d.attribute(&r)
	if c.info.Size() == 0 {
		r.AddFlag(catalog.FlagEmpty)
	}
	if r.Important {
		r.Holds = []catalog.Hold{{Reason: catalog.HoldImportantFlag, By: catalog.ActorCustodian, At: r.ReceivedAt,
			Why: "marked important on the camera; held until an administrator reviews it"}}
		r.LegalHold = true // asked of the archive with the upload
	}
	return r
}

// deviceOf names the device a file comes from: the serial its name gives,
// else the camera's own DEVICE.TXT or device.json, else its slot when that
// is a valid id.
func (d *Dock) deviceOf(c candidate, fromName string) string {
	if fromName != "" {
		return fromName
	}
	if c.slot == LooseSlot {
		return "" // no camera folder to name it
	}
	if id, ok := camera.ReadDeviceID(c.root, c.camDir()); ok {
		return id
	}
	if text.ValidID(c.slot) {
		return c.slot
	}
	return ""
}

// known reports whether the catalog holds a recording of this device with
// c's name, size and time.
func (d *Dock) known(c candidate, device string) (bool, error) {
	name := filepath.Base(c.path)
	r := catalog.Recording{Name: text.Printable(name)}
	if !utf8.ValidString(name) {
		r.NameRaw = []byte(name)
	}
	_, ok, err := d.env.Catalog.FindQuick(device, r.OriginalName(), c.info.Size(), c.info.ModTime())
	return ok, err
}

// date sets when a recording started. StartedAt drives retention and
// archive keys, so it must never be a reset clock: the camera's own claim
// is kept in CameraTime regardless.
func (d *Dock) date(r *catalog.Recording, c candidate, m camera.Meta, now time.Time) {
	r.CameraTime = m.Start.UTC()
	if m.Start.IsZero() {
		r.CameraTime = time.Time{}
	}
	registered := d.env.Devices.RegisteredSince(r.Device)
	switch {
	case m.BadTime:
		r.AddFlag(catalog.FlagClockSuspect)
	case !m.Start.IsZero():
		if why := camera.CheckClock(m.Start, c.info.ModTime(), now, registered); why != "" {
			r.AddFlag(catalog.FlagClockSuspect)
			d.env.Log.Warn("camera clock implausible", keyPath, text.Printable(c.path), keyReason, why)
		} else {
			r.StartedAt = m.Start.UTC()
		}
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = r.ModTime
		if camera.CheckClock(c.info.ModTime(), time.Time{}, now, registered) != "" {
			r.StartedAt = r.ReceivedAt
			r.AddFlag(catalog.FlagClockSuspect)
		}
	}
}

// attribute names the officer the device was issued to when the recording
// started, unless the file name already did.
func (d *Dock) attribute(r *catalog.Recording) {
	if r.Device != "" {
		officer, registered := d.env.Devices.Lookup(r.Device, r.StartedAt)
		if !registered {
			r.AddFlag(catalog.FlagUnregistered)
		}
		if r.Officer == "" {
			r.Officer = officer
		}
	} else {
		r.AddFlag(catalog.FlagUnregistered)
	}
	if r.Officer == "" {
		r.AddFlag(catalog.FlagOfficerUnknown)
	}
}
