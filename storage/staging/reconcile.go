package staging

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"custodian/storage/catalog"
)

// ReconcileReport is what start-up found after a crash or an outage.
type ReconcileReport struct {
	// PartialRemoved are temp files of interrupted copies. They are never the
	// only copy: a source is released only after its blob is renamed,
	// verified and catalogued, so the camera still holds each of them.
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

// localStates are the states whose copy must be in staging.
func hasLocalCopy(s catalog.State) bool {
	return s == catalog.StateStaged || s == catalog.StateVerified
}

// Reconcile brings catalog and staging into agreement at start-up. It never
// deletes a blob; every finding is logged and returned.
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

	referenced := map[string]bool{}
	var missing, unverified []catalog.Recording
	err = c.Each(func(r catalog.Recording) error {
		referenced[r.SHA256] = true
		if !hasLocalCopy(r.State) {
			return nil
		}
		if size, err := s.Stat(r.SHA256); err != nil || size != r.Size {
			missing = append(missing, r)
		} else if r.State == catalog.StateStaged {
			unverified = append(unverified, r)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	for _, r := range missing {
		state, ev, detail := catalog.StateMissing, catalog.EventMissing, "staged copy not found at start-up"
		if size, err := s.Stat(r.SHA256); err == nil {
			state, ev = catalog.StateCorrupt, catalog.EventCorrupt
			detail = fmt.Sprintf("staged copy has %d bytes, recorded %d", size, r.Size)
		}
		if _, err := c.Update(r.ID, func(x *catalog.Recording) error { x.State = state; return nil }, catalog.Event{Type: ev, Detail: detail}); err != nil {
			return rep, fmt.Errorf("reconcile: %w", err)
		}
		log.Error("staged copy lost", "state", state, "id", r.ID, "sha256", r.SHA256, "detail", detail)
		rep.Missing = append(rep.Missing, r.ID)
	}

	for _, r := range unverified {
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
			return rep, fmt.Errorf("reconcile: %w", err)
		}
		log.Info("staged copy checked at start-up", "id", r.ID, "sha256", r.SHA256, "state", state)
		rep.Verified = append(rep.Verified, r.ID)
	}

	err = s.Blobs(func(sha string) error {
		if !referenced[sha] {
			rep.Orphans = append(rep.Orphans, sha)
			log.Warn("staged copy has no record; kept until its source is ingested again", "sha256", sha)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	return rep, nil
}
