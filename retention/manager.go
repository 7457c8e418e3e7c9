package retention

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/hardware/camera"
	"custodian/storage/archive"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// Archive is what retention needs of the archive.
type Archive interface {
	SetLegalHold(ctx context.Context, key, versionID string, on bool) error
	SetTags(ctx context.Context, key, versionID string, tags map[string]string) error
	MarkDeleted(ctx context.Context, key string) (marker string, err error)
	Undelete(ctx context.Context, key, marker string) error
	Remove(ctx context.Context, key, versionID string) error
	// Markers lists key's delete markers, newest first.
	Markers(ctx context.Context, key string) ([]string, error)
}

var _ Archive = (*archive.Client)(nil)

// Config of a Manager.
type Config struct {
	Policy Policy
	// Rooms are the interview rooms whose gaps the daily report counts.
	Rooms []string
	// Devices is the devices table: the daily report names the registered
	// officers and cameras that did not dock.
	Devices  camera.Devices
	Interval time.Duration
	Now      func() time.Time
	// Clock says whether the station clock is trusted, and if not why;
	// while it is not, the sweeper evicts, expires and deletes nothing.
	// nil: trusted.
	Clock func() (trusted bool, why string)
	// ApprovalWindow is how long a request (Ask) waits for a second
	// supervisor's approval; DefaultApprovalWindow when zero.
	ApprovalWindow time.Duration
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
	// between, set by tests, runs between a step's check and its act.
	between func(step string, id uint64)
	// clockHeld: the sweeper holds back for the clock, as last recorded.
	clockHeld atomic.Bool
}

// Metrics of retention.
type Metrics struct {
	Actions *prometheus.CounterVec
	Errors  *prometheus.CounterVec
	Short   prometheus.Gauge
	Sweep   prometheus.Histogram
	// HeldBack is the irreversible steps the last sweep held back because
	// the station clock is not trusted.
	HeldBack prometheus.Gauge
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
		HeldBack: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custodian_retention_held_back_steps",
			Help: "Evict, mark-expired and delete steps the last sweep held back because the station clock is not trusted.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Actions, m.Errors, m.Short, m.Sweep, m.HeldBack)
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
	if cfg.ApprovalWindow <= 0 {
		cfg.ApprovalWindow = DefaultApprovalWindow
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

// VerifyTrail checks the custody trail in the catalog.
func (g *Manager) VerifyTrail(ctx context.Context) (int, error) {
	return g.cat.VerifyEventsContext(ctx)
}

// PlanAt plans against the catalog as it is, for the time at. It reads
// only what may be due by then, and stops when ctx ends. It holds the
// whole plan: PlanEach is for plans far ahead.
func (g *Manager) PlanAt(ctx context.Context, at time.Time) (Result, error) {
	return collect(func(emit func(Action) error) (Result, error) { return g.PlanEach(ctx, at, emit) })
}

// collect runs a plan that emits its steps and returns them with the rest.
func collect(plan func(emit func(Action) error) (Result, error)) (Result, error) {
	acts := []Action{}
	res, err := plan(func(a Action) error { acts = append(acts, a); return nil })
	if err != nil {
		return Result{}, err
	}
	res.Actions = acts
	return res, nil
}

// PlanEach is PlanAt handing each action to emit as it is decided, in
// PlanDue's order of kinds (within evictions the same order; mark-expired
// by start and delete by mark, not by id), and returning the rest of the
// plan (Short, Warnings). It holds what staging holds (the local copies
// eviction weighs, the held expiring recordings) and a batch of the rest,
// never the whole plan: a plan months ahead of a catalog of millions
// would otherwise hold millions of recordings in the daemon that ingests.
func (g *Manager) PlanEach(ctx context.Context, at time.Time, emit func(Action) error) (Result, error) {
	free, err := g.staging.Free()
	if err != nil {
		return Result{}, err
	}
	res, err := g.planEach(ctx, at, free, emit)
	if err != nil {
		return Result{}, err
	}
	if g.cfg.Clock != nil {
		if ok, why := g.cfg.Clock(); !ok {
			res.Warnings = append(res.Warnings, "the station clock is not trusted now ("+why+
				"): until it is, the sweeper carries out no evict, mark-expired or delete step")
		}
	}
	return res, nil
}

// planEach is PlanEach with staging's free space given.
func (g *Manager) planEach(ctx context.Context, at time.Time, free int64, emit func(Action) error) (Result, error) {
	var res Result
	p := g.cfg.Policy.normalized()
	clockOK := true
	// Unmark and evict are decided on the local part whole; its
	// mark-expired and delete steps come again, with the rest.
	local := func(d catalog.Due) error {
		res = PlanDue(at, d, g.cfg.Policy, free)
		clockOK, _ = checkClock(at, d.Newest)
		for _, a := range res.Actions {
			if a.Kind == Unmark || a.Kind == Evict {
				if err := emit(a); err != nil {
					return err
				}
			}
		}
		res.Actions = nil
		return nil
	}
	rest := func(batch []catalog.Recording) error {
		acts, _, _ := planExpiry(at, batch, p, clockOK)
		for _, a := range acts {
			if err := emit(a); err != nil {
				return err
			}
		}
		return nil
	}
	err := g.cat.DueStream(ctx, g.cfg.Policy.DueQuery(at, free), local, rest)
	return res, err
}
