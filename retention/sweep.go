package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"custodian/storage/catalog"
)

// DefaultInterval is how often the sweeper plans and acts; free space is
// checked every PressureCheck and a sweep runs at once when it is short.
const (
	DefaultInterval = 10 * time.Minute
	PressureCheck   = time.Minute
)

// Run sweeps every Interval until ctx is done, and sooner when staging
// falls under min_free: a sweep reads what the retention indexes say may be
// due, a free-space check is one statfs.
func (g *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(min(PressureCheck, g.cfg.Interval))
	defer t.Stop()
	var last time.Time
	for {
		due := time.Since(last) >= g.cfg.Interval
		if !due && g.cfg.Policy.MinFree > 0 {
			free, err := g.staging.Free()
			due = err == nil && free < g.cfg.Policy.MinFree
		}
		if due {
			last = time.Now()
			if _, err := g.Sweep(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("retention sweep incomplete; will try again", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep plans once and carries out the plan. One failed step does not stop
// the others; the errors are returned together and retried next sweep.
func (g *Manager) Sweep(ctx context.Context) (Result, error) {
	start := time.Now()
	defer func() { g.m.Sweep.Observe(time.Since(start).Seconds()) }()
	free, err := g.staging.Free()
	if err != nil {
		return Result{}, fmt.Errorf("sweep: %w", err)
	}
	now := g.cfg.Now()
	due, err := g.due(now, free)
	if err != nil {
		return Result{}, fmt.Errorf("sweep: %w", err)
	}
	res := PlanDue(now, due, g.cfg.Policy, free)
	for _, w := range res.Warnings {
		g.log.Warn("retention held back", "reason", w)
	}
	var errs []error
	for _, a := range res.Actions {
		if ctx.Err() != nil {
			break
		}
		if err := g.carryOut(ctx, a); err != nil {
			g.m.Errors.WithLabelValues(string(a.Kind)).Inc()
			errs = append(errs, fmt.Errorf("%s %d: %w", a.Kind, a.ID, err))
			continue
		}
		g.m.Actions.WithLabelValues(string(a.Kind)).Inc()
	}
	if g.archive != nil {
		errs = append(errs, g.syncLegalHolds(ctx)...)
	}
	if res.Short > 0 && !g.short.Load() {
		g.log.Error("staging short of space with nothing left to evict: docks paused, cameras keep their footage",
			"short_bytes", res.Short)
	}
	g.short.Store(res.Short > 0)
	g.m.Short.Set(float64(res.Short))
	return res, errors.Join(errs...)
}

func (g *Manager) carryOut(ctx context.Context, a Action) error {
	r, err := g.cat.Get(a.ID)
	if err != nil {
		return err
	}
	now := g.cfg.Now().UTC()
	switch a.Kind {
	case Evict:
		if r.State != catalog.StateArchived || !r.EvictedAt.IsZero() {
			return nil // the plan is stale
		}
		if err := g.removeBlob(r); err != nil {
			return err
		}
		_, err = g.cat.Update(r.ID, func(x *catalog.Recording) error { x.EvictedAt = now; return nil },
			catalog.Event{Type: catalog.EventEvicted, Detail: a.Reason + "; archive holds " + r.ArchiveKey})
		if err == nil {
			g.log.Info("evicted", "id", r.ID, "sha256", r.SHA256, "reason", a.Reason)
		}
		return err
	case MarkExpired:
		if r.Permanent() || (r.State != catalog.StateArchived && r.State != catalog.StateVerified) {
			return nil
		}
		marker := ""
		if g.archive != nil && r.ArchiveKey != "" {
			if marker, err = g.archive.MarkDeleted(ctx, r.ArchiveKey); err != nil {
				return err
			}
		}
		_, err = g.cat.Update(r.ID, func(x *catalog.Recording) error {
			x.State, x.ExpiringAt, x.DeleteMarker = catalog.StateExpiring, now, marker
			return nil
		}, catalog.Event{Type: catalog.EventExpiring, Detail: fmt.Sprintf("%s; deleted after %s unless restored or held", a.Reason, now.Add(g.cfg.Policy.Grace).Format(time.RFC3339))})
		if err == nil {
			g.log.Warn("expiring: marked deleted, restorable during the grace period", "id", r.ID, "sha256", r.SHA256,
				"delete_after", now.Add(g.cfg.Policy.Grace).Format(time.RFC3339))
		}
		return err
	case Unmark:
		return g.unmark(ctx, r, catalog.ActorCustodian, a.Reason)
	case Delete:
		if r.Permanent() || r.State != catalog.StateExpiring {
			return nil
		}
		if g.archive != nil && r.ArchiveKey != "" {
			// The lock allows this only after retain-until: the archive itself
			// refuses an early or a held deletion.
			if err := g.archive.Remove(ctx, r.ArchiveKey, r.ArchiveVersion); err != nil {
				return err
			}
			if r.DeleteMarker != "" {
				if err := g.archive.Remove(ctx, r.ArchiveKey, r.DeleteMarker); err != nil {
					g.log.Warn("delete marker left behind", "key", r.ArchiveKey, "err", err)
				}
			}
		}
		if r.HasLocalCopy() {
			if err := g.removeBlob(r); err != nil {
				return err
			}
		}
		_, err = g.cat.Update(r.ID, func(x *catalog.Recording) error {
			x.State, x.ExpiredAt = catalog.StateExpired, now
			return nil
		}, catalog.Event{Type: catalog.EventExpired, Detail: a.Reason})
		if err == nil {
			g.log.Info("expired: deleted by the retention rule", "id", r.ID, "sha256", r.SHA256)
		}
		return err
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// removeBlob asks staging to delete r's bytes unless another recording of
// the same content still has its local copy there; the last one to let go
// removes it, so no record ever claims a local copy that is gone.
func (g *Manager) removeBlob(r catalog.Recording) error {
	_, err := g.staging.Remove(r.SHA256, func() (bool, error) {
		others, err := g.cat.BySHA(r.SHA256)
		for _, o := range others {
			if o.ID != r.ID && o.HasLocalCopy() {
				return true, err
			}
		}
		return false, err
	})
	return err
}
