package staging

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"custodian/storage/catalog"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultScrubInterval is how often every staged copy is read back and
// hashed again.
const DefaultScrubInterval = 24 * time.Hour

// Scrubber re-verifies staged copies from disk on a schedule, so a copy that
// rots while it waits for the archive, or in local-only mode for good, is
// found and recorded rather than trusted.
type Scrubber struct {
	Catalog  *catalog.Catalog
	Staging  *Staging
	Interval time.Duration
	// Pause between two files keeps a scrub from competing with ingest.
	Pause time.Duration
	Log   *slog.Logger
	// Failures counts copies found missing or damaged; may be nil.
	Failures prometheus.Counter
	// between, set by tests, runs between listing a copy and checking it.
	between func(id uint64)
}

// NewScrubFailures is the scrubber's counter, registered with reg.
func NewScrubFailures(reg prometheus.Registerer) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "custodian_staging_verify_failures_total",
		Help: "Staged copies that a scheduled re-verification found missing or not matching their hash.",
	})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}

// Run scrubs once per Interval until ctx is done. The first scrub waits one
// interval: start-up already checks every copy is there.
func (s Scrubber) Run(ctx context.Context) error {
	if s.Interval <= 0 {
		s.Interval = DefaultScrubInterval
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		checked, bad, err := s.Scrub(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Warn("scrub incomplete; will try again", "err", err)
		}
		s.Log.Info("scrub done", "checked", checked, "bad", bad)
	}
}

// Scrub re-verifies every local copy once. A damaged copy of a recording
// the archive holds is dropped from staging (the archive holds a verified one); a
// damaged copy of anything else makes the recording corrupt or missing,
// which the status page and metrics raise. Each finding is a custody event.
// It reads the records with a local copy a page at a time.
func (s Scrubber) Scrub(ctx context.Context) (checked, bad int, err error) {
	for after := uint64(0); ; {
		recs, err := s.Catalog.WithLocalCopy(after, pageSize)
		if err != nil {
			return checked, bad, fmt.Errorf("scrub: %w", err)
		}
		if len(recs) == 0 {
			return checked, bad, nil
		}
		after = recs[len(recs)-1].ID
		for _, r := range recs {
			if r.State == catalog.StateStaged {
				continue // start-up and the room's seal verify these
			}
			if ctx.Err() != nil {
				return checked, bad, ctx.Err()
			}
			if s.between != nil {
				s.between(r.ID)
			}
			found, isBad, err := s.check(r.ID, r.SHA256)
			if err != nil {
				return checked, bad, err
			}
			if found {
				checked++
			}
			if isBad {
				bad++
			} else if s.Pause > 0 {
				time.Sleep(s.Pause)
			}
		}
	}
}

// check re-verifies one local copy under its blob's lock, on the record as
// it is now: no writer of the same content and no eviction can change the
// copy between the read and the record of what it found. found is false
// when the record no longer claims a local copy.
func (s Scrubber) check(id uint64, sha string) (found, bad bool, err error) {
	defer s.Staging.lock(sha)()
	r, err := s.Catalog.Get(id)
	if err != nil {
		return false, false, fmt.Errorf("scrub: %w", err)
	}
	if !r.HasLocalCopy() || r.State == catalog.StateStaged || r.Intent != "" {
		return false, false, nil
	}
	verr := s.Staging.Verify(r.SHA256, r.Size)
	if verr == nil {
		return true, false, nil
	}
	if s.Failures != nil {
		s.Failures.Inc()
	}
	return true, true, s.record(r, verr)
}

func (s Scrubber) record(r catalog.Recording, verr error) error {
	ev, state := catalog.EventCorrupt, catalog.StateCorrupt
	if errors.Is(verr, fs.ErrNotExist) {
		ev, state = catalog.EventMissing, catalog.StateMissing
	}
	_, err := s.Catalog.Update(r.ID, func(x *catalog.Recording) error {
		if x.ArchiveKey != "" {
			x.EvictedAt = s.Catalog.Now().UTC() // the archive's verified version stands
			return nil
		}
		x.State = state
		return nil
	}, catalog.Event{Type: ev, Detail: "scheduled re-verification: " + verr.Error()})
	if err != nil {
		return fmt.Errorf("scrub: record %d: %w", r.ID, err)
	}
	s.Log.Error("staged copy failed re-verification", "id", r.ID, "sha256", r.SHA256, "state", r.State, "err", verr)
	return nil
}
