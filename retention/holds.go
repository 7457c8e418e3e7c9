package retention

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// ErrEmptySelection is returned when a selection matches nothing.
var ErrEmptySelection = errors.New("no recording matches")

// selectIDs resolves a selection: explicit ids, or an officer or a room
// with a time range.
func (g *Manager) selectIDs(ids []uint64, f catalog.Filter) ([]uint64, error) {
	if len(ids) > 0 {
		for _, id := range ids {
			if _, err := g.cat.Get(id); err != nil {
				return nil, err
			}
		}
		return ids, nil
	}
	if f.Officer == "" && f.SourceID == "" || f.From.IsZero() || f.To.IsZero() {
		return nil, errors.New("select by ids, or by officer or room with from and to")
	}
	recs, err := g.cat.List(f)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	if len(ids) == 0 {
		return nil, ErrEmptySelection
	}
	return ids, nil
}

// Hold puts the selected recordings in the permanent class for h.Reason and
// sets the archive's legal hold on each archived one, read back to confirm.
// The catalog decision stands even when the archive is unreachable; the
// sweeper applies the legal hold once it answers.
func (g *Manager) Hold(ctx context.Context, ids []uint64, f catalog.Filter, h catalog.Hold) ([]uint64, error) {
	if !ValidReason(h.Reason) {
		return nil, fmt.Errorf("reason %q: want one of %v", h.Reason, Reasons)
	}
	if h.By == "" || h.Why == "" {
		return nil, errors.New("a hold needs who (by) and why")
	}
	ids, err := g.selectIDs(ids, f)
	if err != nil {
		return nil, err
	}
	h.At = g.cfg.Now().UTC()
	var errs []error
	for _, id := range ids {
		events := []catalog.Event{{Type: catalog.EventHeld, Actor: h.By, Detail: holdDetail(h)}}
		if h.Case != "" {
			events = append(events, catalog.Event{Type: catalog.EventLinked, Actor: h.By, Detail: "case " + h.Case})
		}
		r, err := g.cat.Update(id, func(x *catalog.Recording) error {
			for _, old := range x.Holds {
				if old.Reason == h.Reason && old.Case == h.Case {
					return errAlreadyHeld
				}
			}
			if x.Intent == catalog.IntentDelete {
				return ErrBeingDeleted
			}
			x.Holds = append(x.Holds, h)
			if h.Case != "" && !slices.Contains(x.Cases, h.Case) {
				x.Cases = append(x.Cases, h.Case)
			}
			if x.State != catalog.StateArchived && x.State != catalog.StateExpiring {
				x.LegalHold = true // applied with the upload
			}
			return nil
		}, events...)
		if errors.Is(err, errAlreadyHeld) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.m.Actions.WithLabelValues("hold").Inc()
		g.log.Info("held", "id", r.ID, "sha256", r.SHA256, "reason", h.Reason, "by", h.By, "case", h.Case)
		errs = append(errs, g.afterHold(ctx, r))
	}
	return ids, errors.Join(errs...)
}

var errAlreadyHeld = errors.New("already held for this reason")

func holdDetail(h catalog.Hold) string {
	d := "reason " + h.Reason + ": " + h.Why
	if h.Case != "" {
		d += " (case " + h.Case + ")"
	}
	return d
}

// afterHold brings the archive in line with a fresh hold.
func (g *Manager) afterHold(ctx context.Context, r catalog.Recording) error {
	if r.State == catalog.StateExpiring {
		if err := g.unmark(ctx, r, catalog.ActorCustodian, "held during the grace period"); err != nil {
			return err
		}
		var err error
		if r, err = g.cat.Get(r.ID); err != nil {
			return err
		}
	}
	if g.archive == nil || r.ArchiveKey == "" {
		return nil
	}
	var errs []error
	if !r.LegalHold {
		errs = append(errs, g.applyLegalHold(ctx, r, true))
	}
	if len(r.Cases) > 0 {
		if err := g.archive.SetTags(ctx, r.ArchiveKey, r.ArchiveVersion, archive.CaseTags(r.Cases, r.Sessions)); err != nil {
			errs = append(errs, fmt.Errorf("case tags %d: %w", r.ID, err))
		}
	}
	return errors.Join(errs...)
}

// ErrNoSuchHold is returned when a release names a reason the recording lacks.
var ErrNoSuchHold = errors.New("recording is not held for that reason")

// Release removes one reason from a recording, a decision recorded like the
// hold was. The legal hold is lifted only when no reason is left; the
// standard retain-until still applies after that. Only the important flag
// is released on one supervisor's word; the legal reasons take a request
// (Ask) and a second supervisor's approval (Decide).
func (g *Manager) Release(ctx context.Context, id uint64, reason, by, why string) (catalog.Recording, error) {
	if by == "" || why == "" {
		return catalog.Recording{}, errors.New("a release needs who (by) and why")
	}
	if NeedsApproval(reason) {
		return catalog.Recording{}, ErrNeedsApproval
	}
	r, err := g.cat.Update(id, func(x *catalog.Recording) error {
		i := slices.IndexFunc(x.Holds, func(h catalog.Hold) bool { return h.Reason == reason })
		if i < 0 {
			return ErrNoSuchHold
		}
		x.Holds = slices.Delete(x.Holds, i, i+1)
		if len(x.Holds) == 0 && x.State != catalog.StateArchived && x.State != catalog.StateExpiring {
			x.LegalHold = false
		}
		return nil
	}, catalog.Event{Type: catalog.EventUnheld, Actor: by, Detail: "reason " + reason + ": " + why})
	if err != nil {
		return catalog.Recording{}, err
	}
	g.m.Actions.WithLabelValues("release").Inc()
	g.log.Info("released from hold", "id", r.ID, "sha256", r.SHA256, "reason", reason, "by", by, "left", len(r.Holds))
	if g.archive != nil && r.ArchiveKey != "" && !r.Permanent() && r.LegalHold {
		if err := g.applyLegalHold(ctx, r, false); err != nil {
			return r, err
		}
	}
	return g.cat.Get(id)
}

// restorable says why stage one of x's expiry can no longer be undone, if
// it cannot: a deletion decided wins over a restore or a hold.
func restorable(x *catalog.Recording) error {
	switch {
	case x.Intent == catalog.IntentDelete:
		return ErrBeingDeleted
	case x.State == catalog.StateExpired:
		return fmt.Errorf("recording %d was deleted by the retention rule at %s", x.ID, x.ExpiredAt.Format(time.RFC3339))
	case x.State != catalog.StateExpiring:
		return fmt.Errorf("recording %d is %s, not expiring", x.ID, x.State)
	}
	return nil
}

func (g *Manager) unmark(ctx context.Context, r catalog.Recording, actor, why string) error {
	// Checked before the archive is asked, and again in the transaction
	// that records the restore: a deletion decided in between wins.
	check := restorable
	r, err := g.cat.Get(r.ID)
	if err != nil {
		return err
	}
	if err := check(&r); err != nil {
		return err
	}
	if err := g.liftMarkers(ctx, r); err != nil {
		return err
	}
	back := catalog.StateVerified
	if r.ArchiveKey != "" {
		back = catalog.StateArchived
	}
	_, err = g.cat.Update(r.ID, func(x *catalog.Recording) error {
		if err := check(x); err != nil {
			return err
		}
		x.State, x.ExpiringAt, x.DeleteMarker = back, time.Time{}, ""
		return nil
	}, catalog.Event{Type: catalog.EventRestored, Actor: actor, Detail: why})
	if err == nil {
		g.log.Info("restored", "id", r.ID, "sha256", r.SHA256, "by", actor)
	}
	return err
}

// liftMarkers removes every delete marker on r's key, the recorded one and
// any an interrupted step left, so the archived version is visible again.
func (g *Manager) liftMarkers(ctx context.Context, r catalog.Recording) error {
	if g.archive == nil || r.ArchiveKey == "" {
		return nil
	}
	markers, err := g.archive.Markers(ctx, r.ArchiveKey)
	if err != nil {
		return err
	}
	for _, m := range markers {
		if err := g.archive.Undelete(ctx, r.ArchiveKey, m); err != nil && !errors.Is(err, archive.ErrObjectNotFound) {
			return err
		}
	}
	return nil
}

// syncLegalHolds makes the archive's legal holds follow the catalog: on for
// every permanent recording, off for the others. A hold the archive did not
// take at once (it was down) is applied here. The catalog indexes the few
// recordings where the two differ.
func (g *Manager) syncLegalHolds(ctx context.Context) []error {
	recs, err := g.cat.LegalHoldPending()
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, r := range recs {
		if r.State != catalog.StateArchived && r.State != catalog.StateExpiring {
			continue
		}
		if want := r.Permanent(); want != r.LegalHold {
			if err := g.applyLegalHold(ctx, r, want); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

func (g *Manager) applyLegalHold(ctx context.Context, r catalog.Recording, on bool) error {
	if err := g.archive.SetLegalHold(ctx, r.ArchiveKey, r.ArchiveVersion, on); err != nil {
		g.m.Errors.WithLabelValues("legal-hold").Inc()
		return fmt.Errorf("legal hold %d: %w", r.ID, err)
	}
	_, err := g.cat.Update(r.ID, func(x *catalog.Recording) error { x.LegalHold = on; return nil })
	if err == nil {
		g.log.Info("legal hold set", "id", r.ID, "sha256", r.SHA256, "key", r.ArchiveKey, "on", on)
	}
	return err
}
