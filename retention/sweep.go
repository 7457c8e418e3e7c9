package retention

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	var errs []error
	// Steps a crash interrupted are finished first, every sweep until they
	// are: an archive that is down delays them, never the rest.
	if err := g.Resume(ctx); err != nil {
		errs = append(errs, err)
	}
	free, err := g.staging.Free()
	if err != nil {
		return Result{}, fmt.Errorf("sweep: %w", err)
	}
	now := g.cfg.Now()
	// What is due now, read as a plan far ahead is: the sweep holds the
	// steps, not the recordings, however many came due while it could not
	// act (a clock untrusted for months, then trusted).
	res, err := collect(func(emit func(Action) error) (Result, error) { return g.planEach(ctx, now, free, emit) })
	if err != nil {
		return Result{}, fmt.Errorf("sweep: %w", err)
	}
	if err := g.holdBack(&res); err != nil {
		errs = append(errs, err)
	}
	for _, w := range res.Warnings {
		g.log.Warn("retention held back", "reason", w)
	}
	for _, a := range res.Actions {
		if ctx.Err() != nil {
			break
		}
		if !g.mayAct(a) {
			continue
		}
		if err := g.carryOut(ctx, a); errors.Is(err, errStale) {
			continue // not done, and no failure: re-checked and no longer due
		} else if err != nil {
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
