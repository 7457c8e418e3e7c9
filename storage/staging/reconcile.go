package staging

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"custodian/storage/catalog"
)

// ReconcileReport is what start-up found after a crash or an outage.
type ReconcileReport struct {
	// PartialRemoved are temp files of interrupted copies. They are never the
	// only copy: a source is released only after its blob is renamed,
	// verified and catalogued, so the camera still holds each of them.
	// Resumable partials (tmp/.resume-*) are kept for their camera's return
	// and listed here only once older than ResumeMaxAge.
	PartialRemoved []string `json:"partial_removed,omitempty"`
	// Orphans are verified-name blobs no record points to (a crash between
	// rename and catalog commit). They are kept: the next copy of the same
	// file lands on them and adopts them.
	Orphans []string `json:"orphans,omitempty"`
	// Verified are staged records whose copy was in place (a crash came
	// after the copy, before its verification was recorded): re-read and
	// hash-verified now.
	Verified []uint64 `json:"verified,omitempty"`
	// Missing are records whose staged copy was expected but not found, or
	// found with the wrong size; they move to StateMissing or StateCorrupt
	// with a custody event, and a fresh copy from the camera restores them.
	Missing []uint64 `json:"missing,omitempty"`
}

// ResumeMaxAge is how long the partial of an interrupted copy waits for
// its camera to be docked again; a week covers leave and shift rotations.
const ResumeMaxAge = 7 * 24 * time.Hour

// pageSize is how many records start-up and the scrubber read at a time:
// memory stays flat whatever the catalog's size, and no read transaction
// stays open across file I/O of many records.
const pageSize = 1000

// Reconcile brings catalog and staging into agreement at start-up. It never
// deletes a blob; every finding is logged and returned. It reads the staged
// and verified records by the state index and looks each blob up in the
// hash index, never holding every record or hash.
func Reconcile(c *catalog.Catalog, s *Staging, log *slog.Logger) (ReconcileReport, error) {
	var rep ReconcileReport
	partial, err := s.Partial()
	if err != nil {
		return rep, err
	}
	for _, p := range partial {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("reconcile: remove partial copy: %w", err)
		}
		log.Warn("removed partial copy left by an interrupted ingest; its source was never released",
			"path", p)
		rep.PartialRemoved = append(rep.PartialRemoved, p)
	}
	if err := expireResumes(s, c.Now(), log, &rep); err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	// Verified first: a staged record verified now is not checked twice.
	for _, state := range []catalog.State{catalog.StateVerified, catalog.StateStaged} {
		if err := reconcileState(c, s, log, state, &rep); err != nil {
			return rep, fmt.Errorf("reconcile: %w", err)
		}
	}
	if err := findOrphans(c, s, log, &rep); err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	return rep, nil
}

// expireResumes removes the partials of resumable copies that have not been
// touched for ResumeMaxAge, and logs the ones it keeps.
func expireResumes(s *Staging, now time.Time, log *slog.Logger, rep *ReconcileReport) error {
	ages, err := s.resumeAges()
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(ages)) {
		p, age := s.resumePathsOf(name), now.Sub(ages[name])
		if age <= ResumeMaxAge {
			log.Info("kept partial copy for its camera's return", "path", p.data, "age", age)
			continue
		}
		release, err := s.claim(p)
		if err != nil {
			continue // in flight after all: not stale
		}
		err = s.dropResume(p)
		release()
		if err != nil {
			return err
		}
		log.Warn("removed partial copy whose camera did not return; its next copy starts from zero",
			"path", p.data, "age", age, "max_age", ResumeMaxAge)
		// Listed with the other partials: the admin API mirrors this
		// report field for field, and to the operator it is the same
		// finding, a copy that will start over.
		rep.PartialRemoved = append(rep.PartialRemoved, p.data)
	}
	return nil
}

// reconcileState checks the copy of every record in state, a page at a time.
func reconcileState(c *catalog.Catalog, s *Staging, log *slog.Logger, state catalog.State, rep *ReconcileReport) error {
	for after := uint64(0); ; {
		recs, err := c.InState(state, after, pageSize)
		if err != nil || len(recs) == 0 {
			return err
		}
		after = recs[len(recs)-1].ID
		for _, r := range recs {
			if size, err := s.Stat(r.SHA256); err != nil || size != r.Size {
				if err := markLost(c, s, log, r); err != nil {
					return err
				}
				rep.Missing = append(rep.Missing, r.ID)
			} else if r.State == catalog.StateStaged {
				if err := verifyStaged(c, s, log, r); err != nil {
					return err
				}
				rep.Verified = append(rep.Verified, r.ID)
			}
		}
	}
}

// markLost records a copy that is gone (missing) or has the wrong size (corrupt).
func markLost(c *catalog.Catalog, s *Staging, log *slog.Logger, r catalog.Recording) error {
	state, ev, detail := catalog.StateMissing, catalog.EventMissing, "staged copy not found at start-up"
	if size, err := s.Stat(r.SHA256); err == nil {
		state, ev = catalog.StateCorrupt, catalog.EventCorrupt
		detail = fmt.Sprintf("staged copy has %d bytes, recorded %d", size, r.Size)
	}
	if _, err := c.Update(r.ID, func(x *catalog.Recording) error { x.State = state; return nil }, catalog.Event{Type: ev, Detail: detail}); err != nil {
		return err
	}
	log.Error("staged copy lost", "state", state, "id", r.ID, "sha256", r.SHA256, "detail", detail)
	return nil
}

// verifyStaged re-reads a staged copy a crash left unverified.
func verifyStaged(c *catalog.Catalog, s *Staging, log *slog.Logger, r catalog.Recording) error {
	state, ev, detail := catalog.StateVerified, catalog.EventVerified, "staged copy re-read and hash-verified at start-up"
	if err := s.Verify(r.SHA256, r.Size); err != nil {
		state, ev, detail = catalog.StateCorrupt, catalog.EventCorrupt, "at start-up: "+err.Error()
	}
	if _, err := c.Update(r.ID, func(x *catalog.Recording) error {
		x.State = state
		if state == catalog.StateVerified {
			x.VerifiedAt = c.Now().UTC()
		}
		return nil
	}, catalog.Event{Type: ev, Detail: detail}); err != nil {
		return err
	}
	log.Info("staged copy checked at start-up", "id", r.ID, "sha256", r.SHA256, "state", state)
	return nil
}

// findOrphans looks up every blob in the catalog's hash index, a batch at
// a time, and reports those no record names.
func findOrphans(c *catalog.Catalog, s *Staging, log *slog.Logger, rep *ReconcileReport) error {
	batch := make([]string, 0, pageSize)
	flush := func() error {
		orphans, err := c.Unreferenced(batch)
		for _, sha := range orphans {
			rep.Orphans = append(rep.Orphans, sha)
			log.Warn("staged copy has no record; kept until its source is ingested again", "sha256", sha)
		}
		batch = batch[:0]
		return err
	}
	err := s.Blobs(func(sha string) error {
		if batch = append(batch, sha); len(batch) == pageSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
