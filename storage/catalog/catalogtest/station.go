package catalogtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"custodian/storage/catalog"
)

// Station describes a catalog for benchmarks: a busy station after a year
// in steady state, retention caught up at Now. Recordings started evenly
// over the year, in id order, from 500 cameras worn by 400 officers and,
// one in ten, from 20 interview rooms; each was received an hour after its
// start and archived an hour later, locked until its retention date, with
// the custody events the daemon writes on the way (about four each). Every
// 50th is held as evidence of a case. The newest in a thousand are
// verified, waiting for the archive, and their content is staged. Archived
// copies older than LocalKeep are evicted; recordings past their retention
// date are expiring for Grace and expired after it. A sweep at Now finds
// nothing to do.
type Station struct {
	N   int
	Now time.Time
	// RetainUntil is the retention rule (retention.Policy.RetainUntil).
	RetainUntil      func(*catalog.Recording) time.Time
	LocalKeep, Grace time.Duration
	// Stage, when set, is handed the content of each verified recording.
	Stage func(content []byte) error
	// Row, when set, is handed every recording as added (bench/catalog.sh
	// loads the same rows into sqlite).
	Row func(e *catalog.Entry) error
}

// batch is how many recordings one transaction of Build adds.
const batch = 10_000

// Build adds the station's recordings to c.
func (s Station) Build(c *catalog.Catalog) error {
	entries := make([]catalog.Entry, 0, batch)
	for i := range s.N {
		e, content := s.recording(i)
		if content != nil && s.Stage != nil {
			if err := s.Stage(content); err != nil {
				return err
			}
		}
		if entries = append(entries, e); len(entries) == batch || i == s.N-1 {
			if _, err := c.AddEntries(entries); err != nil {
				return err
			}
			for i := range entries {
				if s.Row != nil {
					if err := s.Row(&entries[i]); err != nil {
						return err
					}
				}
			}
			entries = entries[:0]
		}
	}
	return nil
}

// recording is the station's i-th recording with its events, and its
// content when staged.
func (s Station) recording(i int) (catalog.Entry, []byte) {
	year := 365 * 24 * time.Hour
	start := s.Now.Add(-year - 2*time.Hour + time.Duration(i)*(year/time.Duration(s.N))).UTC()
	r := catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Slot: fmt.Sprint(i % 24),
		Device: fmt.Sprintf("J%07d", i%500), Officer: fmt.Sprintf("%06d", i%400), Name: fmt.Sprintf("J%07d_%d.MP4", i%500, i),
		Ext: "MP4", Kind: "video", Profile: "gat947", StartedAt: start, ModTime: start.Add(10 * time.Minute),
		ReceivedAt: start.Add(time.Hour), Size: 50 << 20, SHA256: fmt.Sprintf("%064x", i), State: catalog.StateArchived}
	r.RelPath = "DCIM/" + r.Name
	r.VerifiedAt, r.ReleasedAt = r.ReceivedAt, r.ReceivedAt.Add(time.Second)
	events := []catalog.Event{
		{Type: catalog.EventIngested, Time: r.ReceivedAt, Detail: fmt.Sprintf("dock dock-a slot %s file %s", r.Slot, r.RelPath)},
		{Type: catalog.EventReleased, Time: r.ReleasedAt, Detail: r.RelPath + " deleted from the camera"},
	}
	if i%10 == 0 {
		room := fmt.Sprintf("room-%02d", i%20)
		r.Source, r.SourceID, r.Slot, r.Device, r.Officer, r.Profile = catalog.SourceRoom, room, "", "", "", ""
		r.Name, r.RelPath, r.ModTime, r.ReleasedAt = fmt.Sprintf("%s_%d.mp4", room, i), "", time.Time{}, time.Time{}
		r.EndedAt, r.Codecs = start.Add(10*time.Minute), []string{"h264", "pcm_alaw"}
		r.Case, r.Subject, r.Officers = fmt.Sprintf("C%05d", i%5000), "S1", []string{fmt.Sprintf("%06d", i%400), fmt.Sprintf("%06d", (i+1)%400)}
		events = []catalog.Event{{Type: catalog.EventIngested, Time: r.ReceivedAt, Detail: "segment sealed and verified"}}
	}
	if i >= s.N-max(1, s.N/1000) {
		content := []byte(fmt.Sprintf("recording %d", i))
		sum := sha256.Sum256(content)
		r.State, r.SHA256, r.Size = catalog.StateVerified, hex.EncodeToString(sum[:]), int64(len(content))
		return catalog.Entry{Recording: r, Events: events}, content
	}
	who := r.Officer
	if who == "" {
		who = r.SourceID
	}
	// the key storage/upload gives an object (upload.ObjectKey)
	r.ArchiveKey = fmt.Sprintf("st01/%s/%s/%s.%s", start.Format("2006/01/02"), who, r.SHA256, r.Ext)
	r.ArchiveVersion, r.ArchivedAt = "v1", r.ReceivedAt.Add(time.Hour)
	r.RetainUntil = s.RetainUntil(&r)
	events = append(events, catalog.Event{Type: catalog.EventArchived, Time: r.ArchivedAt,
		Detail: fmt.Sprintf("%s version %s, COMPLIANCE until %s, legal hold false", r.ArchiveKey, r.ArchiveVersion, r.RetainUntil.Format(time.RFC3339))})
	if i%50 == 0 {
		c := fmt.Sprintf("C%05d", i%5000)
		r.Holds, r.LegalHold, r.Cases = []catalog.Hold{{Reason: "evidence", By: "admin", At: r.ArchivedAt, Why: "case file", Case: c}}, true, []string{c}
		events = append(events, catalog.Event{Type: catalog.EventHeld, Time: r.ArchivedAt, Actor: "admin", Detail: "evidence: case file (case " + c + ")"})
	}
	if evicted := r.ArchivedAt.Add(s.LocalKeep); !s.Now.Before(evicted) {
		r.EvictedAt = evicted
		events = append(events, catalog.Event{Type: catalog.EventEvicted, Time: evicted, Detail: "archived 7d ago; the archive holds it"})
	}
	if r.Permanent() || s.Now.Before(r.RetainUntil) {
		return catalog.Entry{Recording: r, Events: events}, nil
	}
	r.State, r.ExpiringAt, r.DeleteMarker = catalog.StateExpiring, r.RetainUntil, "m1"
	events = append(events, catalog.Event{Type: catalog.EventExpiring, Time: r.ExpiringAt, Detail: "retention ended; deleted after 7d unless restored or held"})
	if deleted := r.ExpiringAt.Add(s.Grace); !s.Now.Before(deleted) {
		r.State, r.ExpiredAt = catalog.StateExpired, deleted
		events = append(events, catalog.Event{Type: catalog.EventExpired, Time: deleted, Detail: "archived version deleted"})
	}
	return catalog.Entry{Recording: r, Events: events}, nil
}
