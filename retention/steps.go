package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// Every irreversible step below is check, then act, made safe: the check
// runs inside the catalog transaction that records the decision (an intent,
// or the eviction itself), and the act's completion re-checks inside its own
// transaction. A hold, a restore or an ingest of the same bytes lands either
// before the decision (the footage stays) or after it (a deletion refuses
// it with ErrBeingDeleted; stage one of expiry stays restorable).

// ErrBeingDeleted is returned for a hold or restore of a recording whose
// final deletion the retention rule has decided and is carrying out.
var ErrBeingDeleted = errors.New("the retention rule is deleting this recording; it can no longer be held or restored")

// errStale is a plan step that no longer applies when re-checked.
var errStale = errors.New("stale")

// hook runs a test's injection between a check and an act; nil in production.
func (g *Manager) hook(step string, id uint64) {
	if g.between != nil {
		g.between(step, id)
	}
}

func (g *Manager) carryOut(ctx context.Context, a Action) error {
	var err error
	switch a.Kind {
	case Evict:
		err = g.evict(a)
	case MarkExpired:
		err = g.markExpired(ctx, a)
	case Unmark:
		var r catalog.Recording
		if r, err = g.cat.Get(a.ID); err == nil {
			err = g.unmark(ctx, r, catalog.ActorCustodian, a.Reason)
		}
	case Delete:
		err = g.delete(ctx, a)
	default:
		err = fmt.Errorf("unknown action %q", a.Kind)
	}
	return err // errStale: the plan is stale, something saved the footage first
}

// evict removes a local copy the archive holds. The record stops claiming
// the copy in the same locked step that decides the bytes may go, so no
// ingest of the same content and no scrub can see a copy that is gone.
func (g *Manager) evict(a Action) error {
	g.hook("evict", a.ID)
	now := g.cfg.Now().UTC()
	var r catalog.Recording
	err := g.dropLocal(a.ID, func(x *catalog.Recording) error {
		if x.State != catalog.StateArchived || !x.EvictedAt.IsZero() || x.Intent != "" {
			return errStale
		}
		x.EvictedAt = now
		r = *x
		return nil
	}, catalog.Event{Type: catalog.EventEvicted, Detail: a.Reason + "; the archive holds it"})
	if err == nil {
		g.log.Info("evicted", "id", r.ID, "sha256", r.SHA256, "reason", a.Reason)
	}
	return err
}

// dropLocal records, under the blob's staging lock, that recording id no
// longer has a local copy (decide re-checks and changes the record), then
// removes the bytes unless another recording of the same content still
// keeps its own copy.
func (g *Manager) dropLocal(id uint64, decide func(*catalog.Recording) error, ev catalog.Event) error {
	r, err := g.cat.Get(id)
	if err != nil {
		return err
	}
	_, err = g.staging.Remove(r.SHA256, func() (bool, error) {
		if _, err := g.cat.Update(id, decide, ev); err != nil {
			return true, err
		}
		others, err := g.cat.BySHA(r.SHA256)
		for _, o := range others {
			if o.ID != id && o.HasLocalCopy() {
				return true, err
			}
		}
		return false, err
	})
	return err
}

// markExpired is stage one of expiry: the archive's delete marker, undone
// by a restore or a hold during the grace period.
func (g *Manager) markExpired(ctx context.Context, a Action) error {
	now := g.cfg.Now().UTC()
	r, err := g.cat.Update(a.ID, func(x *catalog.Recording) error {
		if x.Permanent() || x.Intent != "" || (x.State != catalog.StateArchived && x.State != catalog.StateVerified) ||
			now.Before(g.cfg.Policy.RetainUntil(x)) {
			return errStale
		}
		x.Intent, x.IntentAt = catalog.IntentMark, now
		return nil
	})
	if err != nil {
		return err
	}
	g.hook("mark:decided", r.ID)
	return g.finishMark(ctx, r, a.Reason)
}

// finishMark puts the delete marker (unless a crash left one, which it
// adopts) and records stage one. A hold that landed since the decision is
// honoured at once: the marker is lifted again.
func (g *Manager) finishMark(ctx context.Context, r catalog.Recording, reason string) error {
	marker, err := g.placeMarker(ctx, r)
	if err != nil {
		return err
	}
	g.hook("mark:acted", r.ID)
	now := g.cfg.Now().UTC()
	grace := now.Add(g.cfg.Policy.Grace).Format(time.RFC3339)
	r, err = g.cat.Update(r.ID, func(x *catalog.Recording) error {
		if x.Intent != catalog.IntentMark {
			return errStale
		}
		x.State, x.ExpiringAt, x.DeleteMarker, x.Intent, x.IntentAt = catalog.StateExpiring, now, marker, "", time.Time{}
		return nil
	}, catalog.Event{Type: catalog.EventExpiring, Detail: fmt.Sprintf("%s; deleted after %s unless restored or held", reason, grace)})
	if err != nil {
		return err
	}
	g.log.Warn("expiring: marked deleted, restorable during the grace period", "id", r.ID, "sha256", r.SHA256, "delete_after", grace)
	if r.Permanent() {
		return g.unmark(ctx, r, catalog.ActorCustodian, "held while it was being marked")
	}
	return nil
}

// placeMarker returns the key's delete marker: one an interrupted mark left,
// or a new one. Local-only recordings have none.
func (g *Manager) placeMarker(ctx context.Context, r catalog.Recording) (string, error) {
	if g.archive == nil || r.ArchiveKey == "" {
		return "", nil
	}
	if markers, err := g.archive.Markers(ctx, r.ArchiveKey); err != nil {
		return "", err
	} else if len(markers) > 0 {
		return markers[0], nil
	}
	return g.archive.MarkDeleted(ctx, r.ArchiveKey)
}

// delete is stage two: the archived version and the local copy go, the
// record stays, expired. From the decision on, holds and restores are
// refused (ErrBeingDeleted); an interrupted deletion resumes at start.
func (g *Manager) delete(ctx context.Context, a Action) error {
	now := g.cfg.Now().UTC()
	r, err := g.cat.Update(a.ID, func(x *catalog.Recording) error {
		if x.Permanent() || x.State != catalog.StateExpiring || x.Intent != "" ||
			now.Before(x.ExpiringAt.Add(g.cfg.Policy.Grace)) || now.Before(g.cfg.Policy.RetainUntil(x)) {
			return errStale
		}
		x.Intent, x.IntentAt = catalog.IntentDelete, now
		return nil
	})
	if err != nil {
		return err
	}
	g.hook("delete:decided", r.ID)
	return g.finishDelete(ctx, r, a.Reason)
}

func (g *Manager) finishDelete(ctx context.Context, r catalog.Recording, reason string) error {
	if g.archive != nil && r.ArchiveKey != "" {
		// The lock allows this only after retain-until: the archive itself
		// refuses an early or a held deletion.
		if err := g.archive.Remove(ctx, r.ArchiveKey, r.ArchiveVersion); err != nil && !errors.Is(err, archive.ErrObjectNotFound) {
			return err
		}
		g.hook("delete:archive", r.ID)
		markers, err := g.archive.Markers(ctx, r.ArchiveKey)
		for _, m := range markers {
			if err == nil {
				err = g.archive.Remove(ctx, r.ArchiveKey, m)
			}
		}
		if err != nil {
			g.log.Warn("delete marker left behind", "key", r.ArchiveKey, "err", err)
		}
	}
	now := g.cfg.Now().UTC()
	if r.HasLocalCopy() {
		err := g.dropLocal(r.ID, func(x *catalog.Recording) error { x.EvictedAt = now; return nil },
			catalog.Event{Type: catalog.EventEvicted, Detail: "local copy removed with the deletion"})
		if err != nil {
			return err
		}
	}
	g.hook("delete:local", r.ID)
	_, err := g.cat.Update(r.ID, func(x *catalog.Recording) error {
		if x.Intent != catalog.IntentDelete {
			return fmt.Errorf("recording %d: deletion intent gone before it completed", x.ID)
		}
		x.State, x.ExpiredAt, x.Intent, x.IntentAt = catalog.StateExpired, now, "", time.Time{}
		return nil
	}, catalog.Event{Type: catalog.EventExpired, Detail: reason})
	if err == nil {
		g.log.Info("expired: deleted by the retention rule", "id", r.ID, "sha256", r.SHA256)
	}
	return err
}

// Resume finishes the retention steps a crash interrupted: each was decided
// and recorded as an intent before anything was asked of the archive.
func (g *Manager) Resume(ctx context.Context) error {
	recs, err := g.cat.Intents()
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range recs {
		g.log.Warn("resuming an interrupted retention step", "id", r.ID, "sha256", r.SHA256, "step", r.Intent,
			"decided", r.IntentAt.Format(time.RFC3339))
		switch r.Intent {
		case catalog.IntentMark:
			err = g.finishMark(ctx, r, "resumed after a restart")
		case catalog.IntentDelete:
			err = g.finishDelete(ctx, r, "resumed after a restart")
		default:
			err = fmt.Errorf("unknown retention step %q", r.Intent)
		}
		if err != nil && !errors.Is(err, errStale) {
			errs = append(errs, fmt.Errorf("resume %s %d: %w", r.Intent, r.ID, err))
		}
	}
	return errors.Join(errs...)
}
