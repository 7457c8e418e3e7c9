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
// over the year, in id order; each was received an hour after its start and
// archived an hour later, locked until its retention date. Every 50th is
// held. The newest in a thousand are verified, waiting for the archive, and
// their content is staged. Archived copies older than LocalKeep are
// evicted; recordings past their retention date are expiring for Grace and
// expired after it. A sweep at Now finds nothing to do.
type Station struct {
	N   int
	Now time.Time
	// RetainUntil is the retention rule (retention.Policy.RetainUntil).
	RetainUntil      func(*catalog.Recording) time.Time
	LocalKeep, Grace time.Duration
	// Stage, when set, is handed the content of each verified recording.
	Stage func(content []byte) error
}

// batch is how many recordings one transaction of Build adds.
const batch = 10_000

// Build adds the station's recordings to c.
func (s Station) Build(c *catalog.Catalog) error {
	recs := make([]catalog.Recording, 0, batch)
	for i := range s.N {
		r, content := s.recording(i)
		if content != nil && s.Stage != nil {
			if err := s.Stage(content); err != nil {
				return err
			}
		}
		if recs = append(recs, r); len(recs) == batch || i == s.N-1 {
			if _, err := c.AddBatch(recs, catalog.Event{Type: catalog.EventIngested}); err != nil {
				return err
			}
			recs = recs[:0]
		}
	}
	return nil
}

// recording is the station's i-th recording, and its content when staged.
func (s Station) recording(i int) (catalog.Recording, []byte) {
	year := 365 * 24 * time.Hour
	start := s.Now.Add(-year - 2*time.Hour + time.Duration(i)*(year/time.Duration(s.N))).UTC()
	r := catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a",
		Device: fmt.Sprintf("J%07d", i%500), Officer: fmt.Sprintf("%06d", i%400), Name: fmt.Sprintf("J%07d_%d.MP4", i%500, i),
		Ext: "MP4", Kind: "video", StartedAt: start, ReceivedAt: start.Add(time.Hour), Size: 50 << 20,
		SHA256: fmt.Sprintf("%064x", i), State: catalog.StateArchived}
	if i >= s.N-max(1, s.N/1000) {
		content := []byte(fmt.Sprintf("recording %d", i))
		sum := sha256.Sum256(content)
		r.State, r.SHA256, r.Size, r.VerifiedAt = catalog.StateVerified, hex.EncodeToString(sum[:]), int64(len(content)), r.ReceivedAt
		return r, content
	}
	r.ArchiveKey, r.ArchiveVersion, r.ArchivedAt = "st01/"+r.SHA256, "v1", r.ReceivedAt.Add(time.Hour)
	r.RetainUntil = s.RetainUntil(&r)
	if i%50 == 0 {
		r.Holds, r.LegalHold = []catalog.Hold{{Reason: "evidence", By: "admin", At: r.ArchivedAt, Why: "case file", Case: "C1"}}, true
	}
	if evicted := r.ArchivedAt.Add(s.LocalKeep); !s.Now.Before(evicted) {
		r.EvictedAt = evicted
	}
	if r.Permanent() || s.Now.Before(r.RetainUntil) {
		return r, nil
	}
	r.State, r.ExpiringAt, r.DeleteMarker = catalog.StateExpiring, r.RetainUntil, "m1"
	if deleted := r.ExpiringAt.Add(s.Grace); !s.Now.Before(deleted) {
		r.State, r.ExpiredAt = catalog.StateExpired, deleted
	}
	return r, nil
}
