package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/storage/archive"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// Archive is what retention needs of the archive.
type Archive interface {
	SetLegalHold(ctx context.Context, key, versionID string, on bool) error
	SetCases(ctx context.Context, key, versionID string, cases []string) error
	MarkDeleted(ctx context.Context, key string) (marker string, err error)
	Undelete(ctx context.Context, key, marker string) error
	Remove(ctx context.Context, key, versionID string) error
}

var _ Archive = (*archive.Client)(nil)

// DefaultInterval is how often the sweeper plans and acts; free space is
// checked every PressureCheck and a sweep runs at once when it is short.
const (
	DefaultInterval = 10 * time.Minute
	PressureCheck   = time.Minute
)

// Config of a Manager.
type Config struct {
	Policy Policy
	// Rooms are the interview rooms whose gaps the daily report counts.
	Rooms    []string
	Interval time.Duration
	Now      func() time.Time
}

// Manager enforces retention: the sweeper carries out plans, and holds,
// releases, case links and restores are recorded decisions with an actor.
type Manager struct {
	cfg     Config
	cat     *catalog.Catalog
	staging *staging.Staging
	archive Archive // nil in local-only mode
	log     *slog.Logger
	m       *Metrics
	short   atomic.Bool
}

// Metrics of retention.
type Metrics struct {
	Actions *prometheus.CounterVec
	Errors  *prometheus.CounterVec
	Short   prometheus.Gauge
	Sweep   prometheus.Histogram
}

// NewMetrics registers the retention metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_retention_actions_total",
			Help: "Retention steps carried out, by kind (evict, mark-expired, unmark, delete, hold, release, restore).",
		}, []string{"kind"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_retention_errors_total",
			Help: "Retention steps that failed and will be tried again, by kind.",
		}, []string{"kind"}),
		Short: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custodian_retention_short_bytes",
			Help: "Free staging space still missing after every allowed eviction; docks pause while above 0.",
		}),
		Sweep: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "custodian_retention_sweep_duration_seconds",
			Help:    "Time of one sweep: plan and act.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Actions, m.Errors, m.Short, m.Sweep)
	}
	return m
}

// New builds a Manager; archive is nil in local-only mode.
func New(cfg Config, cat *catalog.Catalog, staging *staging.Staging, archive Archive, log *slog.Logger, m *Metrics) *Manager {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Policy.Grace <= 0 {
		cfg.Policy.Grace = DefaultGrace
	}
	if cfg.Policy.LocalKeep <= 0 {
		cfg.Policy.LocalKeep = DefaultLocalKeep
	}
	cfg.Policy.Archive = archive != nil
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Manager{cfg: cfg, cat: cat, staging: staging, archive: archive, log: log, m: m}
}

// Policy is the policy in force.
func (g *Manager) Policy() Policy { return g.cfg.Policy }

// Short reports whether staging is short of space with nothing left to
// evict: docks pause (cameras keep their footage) and the rest is the
// reserve for interview rooms.
func (g *Manager) Short() bool { return g.short.Load() }

// Run sweeps every Interval until ctx is done, and sooner when staging
// falls under min_free: a sweep reads the whole catalog, a free-space check
// is one statfs.
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

// ReportFor builds the completeness report of the station-local day
// starting at day.
func (g *Manager) ReportFor(day time.Time) (Report, error) {
	recs, err := g.load()
	if err != nil {
		return Report{}, err
	}
	free, err := g.staging.Free()
	if err != nil {
		return Report{}, err
	}
	var gaps []catalog.Gap
	for _, room := range g.cfg.Rooms {
		gs, err := g.cat.Gaps(room, day.AddDate(0, 0, -7), day.AddDate(0, 0, 1))
		if err != nil {
			return Report{}, err
		}
		gaps = append(gaps, gs...)
	}
	return MakeReport(day, g.cfg.Now(), recs, gaps, g.cfg.Policy, free), nil
}

// VerifyTrail checks the custody trail in the catalog.
func (g *Manager) VerifyTrail(context.Context) (int, error) { return g.cat.VerifyEvents() }

// PlanAt plans against the catalog as it is, for the time at.
func (g *Manager) PlanAt(at time.Time) (Result, error) {
	recs, err := g.load()
	if err != nil {
		return Result{}, err
	}
	free, err := g.staging.Free()
	if err != nil {
		return Result{}, err
	}
	return Plan(at, recs, g.cfg.Policy, free), nil
}

func (g *Manager) load() ([]catalog.Recording, error) {
	var recs []catalog.Recording
	err := g.cat.Each(func(r catalog.Recording) error { recs = append(recs, r); return nil })
	return recs, err
}

// Sweep plans once and carries out the plan. One failed step does not stop
// the others; the errors are returned together and retried next sweep.
func (g *Manager) Sweep(ctx context.Context) (Result, error) {
	start := time.Now()
	defer func() { g.m.Sweep.Observe(time.Since(start).Seconds()) }()
	recs, err := g.load()
	if err != nil {
		return Result{}, fmt.Errorf("sweep: %w", err)
	}
	free, err := g.staging.Free()
	if err != nil {
		return Result{}, fmt.Errorf("sweep: %w", err)
	}
	res := Plan(g.cfg.Now(), recs, g.cfg.Policy, free)
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
		errs = append(errs, g.syncLegalHolds(ctx, recs)...)
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

func (g *Manager) unmark(ctx context.Context, r catalog.Recording, actor, why string) error {
	if r.State != catalog.StateExpiring {
		return fmt.Errorf("recording %d is %s, not expiring", r.ID, r.State)
	}
	if g.archive != nil && r.DeleteMarker != "" {
		if err := g.archive.Undelete(ctx, r.ArchiveKey, r.DeleteMarker); err != nil {
			return err
		}
	}
	back := catalog.StateVerified
	if r.ArchiveKey != "" {
		back = catalog.StateArchived
	}
	_, err := g.cat.Update(r.ID, func(x *catalog.Recording) error {
		x.State, x.ExpiringAt, x.DeleteMarker = back, time.Time{}, ""
		return nil
	}, catalog.Event{Type: catalog.EventRestored, Actor: actor, Detail: why})
	if err == nil {
		g.log.Info("restored", "id", r.ID, "sha256", r.SHA256, "by", actor)
	}
	return err
}

// syncLegalHolds makes the archive's legal holds follow the catalog: on for
// every permanent recording, off for the others. A hold the archive did not
// take at once (it was down) is applied here.
func (g *Manager) syncLegalHolds(ctx context.Context, recs []catalog.Recording) []error {
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
		if err := g.archive.SetCases(ctx, r.ArchiveKey, r.ArchiveVersion, r.Cases); err != nil {
			errs = append(errs, fmt.Errorf("case tags %d: %w", r.ID, err))
		}
	}
	return errors.Join(errs...)
}

// ErrNoSuchHold is returned when a release names a reason the recording lacks.
var ErrNoSuchHold = errors.New("recording is not held for that reason")

// Release removes one reason from a recording, a decision recorded like the
// hold was. The legal hold is lifted only when no reason is left; the
// standard retain-until still applies after that.
func (g *Manager) Release(ctx context.Context, id uint64, reason, by, why string) (catalog.Recording, error) {
	if by == "" || why == "" {
		return catalog.Recording{}, errors.New("a release needs who (by) and why")
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

// Restore undoes stage one of expiry during the grace period.
func (g *Manager) Restore(ctx context.Context, id uint64, by, why string) error {
	if by == "" || why == "" {
		return errors.New("a restore needs who (by) and why")
	}
	r, err := g.cat.Get(id)
	if err != nil {
		return err
	}
	if err := g.unmark(ctx, r, by, why); err != nil {
		return err
	}
	g.m.Actions.WithLabelValues("restore").Inc()
	return nil
}
