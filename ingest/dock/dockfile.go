package dock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"custodian/hardware/camera"
	"custodian/ingest"
	"custodian/internal/digest"
	"custodian/internal/text"
	"custodian/storage/catalog"
)

// ingest takes one complete file from a camera: copy through the hash into
// staging, re-read and verify, record it in the catalog, and only then, if the
// dock says so, delete it from the camera.
func (d *Dock) ingest(ctx context.Context, c candidate) {
	d.mu.Lock()
	if d.busy[c.path] {
		d.mu.Unlock()
		return
	}
	d.busy[c.path] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.busy, c.path)
		d.mu.Unlock()
	}()

	rec := d.describe(c)
	log := d.env.Log.With(keyPath, text.Printable(c.path))

	// Seen before with the same size and time: prove it by hash before acting.
	if known, ok, err := d.env.Catalog.FindQuick(rec.Device, rec.OriginalName(), c.info.Size(), c.info.ModTime()); err != nil {
		d.fail(c, ingest.ErrKindCatalog, err)
		return
	} else if ok {
		if !d.cfg.DeleteAfterIngest {
			return // already catalogued; this dock leaves files on the camera
		}
		if err := d.releaseKnown(c, known); err != nil {
			d.fail(c, ingest.ErrKindRelease, err)
		}
		return
	}

	log.Info("found", keyDevice, rec.Device, keySize, c.info.Size())
	src, err := camera.OpenRegular(c.path)
	if err != nil {
		d.fail(c, ingest.ErrKindRead, err)
		return
	}
	blob, err := d.env.Staging.Put(ctx, src, c.info.Size())
	src.Close()
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down; the camera keeps the file
		}
		d.fail(c, errKind(err), err)
		return
	}
	// The camera must not have touched the file while it was copied.
	if fi, err := os.Lstat(c.path); err != nil || fi.Size() != c.info.Size() || !fi.ModTime().Equal(c.info.ModTime()) {
		d.dropUnreferenced(blob.SHA256)
		d.fail(c, ingest.ErrKindChanged, fmt.Errorf("source changed while copying"))
		return
	}
	now := d.env.Now().UTC()
	rec.SHA256, rec.Size = blob.SHA256, blob.Size
	rec.State, rec.StagedAt, rec.VerifiedAt = catalog.StateVerified, now, now
	log.Info("staged", keySHA, blob.SHA256, keySize, blob.Size)

	saved, created, err := d.env.Catalog.Add(rec, catalog.Event{Type: catalog.EventIngested,
		Detail: fmt.Sprintf("dock %s slot %s file %s", d.cfg.ID, text.Printable(c.slot), rec.RelPath)})
	if err != nil {
		d.fail(c, ingest.ErrKindCatalog, err)
		return
	}
	if !created && (saved.State == catalog.StateMissing || saved.State == catalog.StateCorrupt) {
		saved, err = d.env.Catalog.Update(saved.ID, func(r *catalog.Recording) error {
			r.State, r.VerifiedAt = catalog.StateVerified, now
			return nil
		}, catalog.Event{Type: catalog.EventRestaged, Detail: "fresh verified copy from the camera"})
		if err != nil {
			d.fail(c, ingest.ErrKindCatalog, err)
			return
		}
	}
	log.Info("verified", keyID, saved.ID, keySHA, saved.SHA256, keyDevice, saved.Device,
		keyOfficer, saved.Officer, keyFlags, saved.Flags, "new", created)
	if created && d.env.Metrics != nil {
		d.env.Metrics.Files.WithLabelValues(string(catalog.SourceDock)).Inc()
		d.env.Metrics.Bytes.WithLabelValues(string(catalog.SourceDock)).Add(float64(saved.Size))
	}
	d.mu.Lock()
	if s := d.slots[c.slot]; s != nil {
		s.DoneFiles++
		s.DoneBytes += saved.Size
		s.LastOffload = now
		s.LastError = ""
		if saved.Device != "" {
			s.Device = saved.Device
		}
	}
	delete(d.retry, c.path)
	d.mu.Unlock()

	if d.cfg.DeleteAfterIngest {
		if err := d.release(c, saved); err != nil {
			d.fail(c, ingest.ErrKindRelease, err)
		}
	}
}

// releaseKnown deletes a file the catalog already holds (a crash came between
// the catalog commit and the delete), after proving by hash that it is the
// same content and that the staged copy is still good.
func (d *Dock) releaseKnown(c candidate, known catalog.Recording) error {
	switch known.State {
	case catalog.StateVerified, catalog.StateArchived:
	default:
		return fmt.Errorf("recording %d is %s; the camera keeps its copy", known.ID, known.State)
	}
	sha, _, err := hashRegular(c.path)
	if err != nil {
		return err
	}
	if sha != known.SHA256 {
		// Same name, size and time, other content: treat as a new file next scan.
		d.mu.Lock()
		delete(d.seen, c.path)
		d.mu.Unlock()
		return fmt.Errorf("content differs from recording %d", known.ID)
	}
	if known.State == catalog.StateVerified {
		if err := d.env.Staging.Verify(known.SHA256, known.Size); err != nil {
			return err
		}
	}
	return d.release(c, known)
}

// release deletes the source from the camera and records it. The path is
// re-checked to be the very file that was copied, and the intent is recorded
// first so that a crash between the delete and its record is resolved at the
// next start (resumeReleases).
func (d *Dock) release(c candidate, rec catalog.Recording) error {
	fi, err := os.Lstat(c.path)
	if err != nil {
		return err
	}
	if !os.SameFile(fi, c.info) || fi.Size() != rec.Size || !fi.ModTime().Equal(c.info.ModTime()) {
		return fmt.Errorf("file on the camera is no longer the one copied")
	}
	if _, err := d.env.Catalog.Update(rec.ID, func(r *catalog.Recording) error {
		r.PendingRelease = []byte(c.path)
		return nil
	}); err != nil {
		return err
	}
	if err := os.Remove(c.path); err != nil {
		return fmt.Errorf("delete from camera: %w", err)
	}
	if s := d.cfg.Profile.DoneSuffix(); s != "" {
		if err := os.Remove(c.path + s); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.env.Log.Warn("could not remove completion marker", keyPath, text.Printable(c.path+s), keyErr, err)
		}
	}
	return d.recordRelease(rec, c.path, fmt.Sprintf("deleted from camera on dock %s", d.cfg.ID))
}

func (d *Dock) recordRelease(rec catalog.Recording, path, detail string) error {
	now := d.env.Now().UTC()
	first := rec.ReleasedAt.IsZero()
	var events []catalog.Event
	if first {
		events = append(events, catalog.Event{Type: catalog.EventReleased, Detail: detail})
	}
	_, err := d.env.Catalog.Update(rec.ID, func(r *catalog.Recording) error {
		if r.ReleasedAt.IsZero() {
			r.ReleasedAt = now
		}
		r.PendingRelease = nil
		return nil
	}, events...)
	if err != nil {
		return err
	}
	d.env.Log.Info("released", keyID, rec.ID, keySHA, rec.SHA256, keyPath, text.Printable(path))
	return nil
}

// resumeReleases settles deletions a crash interrupted. A source still on the
// camera is left for the scan, which proves it by hash and deletes it; one
// that is gone was deleted before the crash.
func (d *Dock) resumeReleases() {
	recs, err := d.env.Catalog.PendingReleases(d.cfg.ID)
	if err != nil {
		d.env.Log.Error("pending releases unreadable", keyErr, err)
		return
	}
	for _, rec := range recs {
		path := string(rec.PendingRelease)
		if _, err := os.Lstat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := d.recordRelease(rec, path, fmt.Sprintf("deleted from camera on dock %s; confirmed absent after a restart", d.cfg.ID)); err != nil {
			d.env.Log.Error("could not record release", keyID, rec.ID, keyErr, err)
		}
	}
}

// dropUnreferenced removes a blob just written for a copy that turned out to
// be bad, unless a catalogued recording shares its content. The camera still
// holds the file, so nothing is lost.
func (d *Dock) dropUnreferenced(sha string) {
	recs, err := d.env.Catalog.BySHA(sha)
	if err != nil || len(recs) > 0 {
		return
	}
	if err := os.Remove(d.env.Staging.Path(sha)); err != nil {
		d.env.Log.Warn("could not remove unusable staged copy", keySHA, sha, keyErr, err)
	}
}

// describe reads what the file name, the camera folder and the devices table
// say about a file.
func (d *Dock) describe(c candidate) catalog.Recording {
	name := filepath.Base(c.path)
	rel, _ := filepath.Rel(c.camRoot, c.path)
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
		Device:     m.Device,
		Officer:    m.Officer,
	}
	if !utf8.ValidString(name) {
		r.NameRaw = []byte(name)
		r.AddFlag(catalog.FlagNameNotUTF8)
	}
	if !m.Parsed && d.cfg.Profile.Name() != "generic" {
		r.AddFlag(catalog.FlagUnparsed)
	}
	if r.Device == "" {
		if id, ok := camera.ReadDeviceID(c.camRoot); ok {
			r.Device = id
		} else if text.ValidID(c.slot) {
			r.Device = c.slot
		}
	}
	// StartedAt drives retention and archive keys, so it must never be a
	// reset clock: the camera's own claim is kept in CameraTime regardless.
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

func hashRegular(path string) (string, int64, error) {
	f, err := camera.OpenRegular(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return digest.Sum(f)
}
