package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"custodian/admin/api"

	"github.com/prometheus/client_golang/prometheus"
)

// part is one long-running piece of the daemon.
type part struct {
	name string // "room r1", "dock dock-a", "uploader": shown to admins
	kind string // bounded metric label: room, dock, uploader, ...
	// vital parts stop the daemon when they fail: it cannot run without them.
	// Any other part that fails is shown, alerted and started again.
	vital bool
	run   func(ctx context.Context) error
}

// Restart pacing of a failed part: the wait doubles from restartMin up to
// restartMax; a part that then runs for steadyAfter counts as recovered.
const (
	restartMin  = time.Second
	restartMax  = 5 * time.Minute
	steadyAfter = time.Minute
)

// supervisor runs the daemon's parts so that one part's failure (a room
// whose folder cannot be created, a dock path gone) degrades that part only:
// the rest keeps running, the failure shows in status and metrics, and the
// part is tried again. The daemon stops on a vital part's failure or when
// its context ends, tier by tier in reverse order of start: intake first.
type supervisor struct {
	log  *slog.Logger
	now  func() time.Time
	fail *prometheus.CounterVec
	down *prometheus.GaugeVec

	mu     sync.Mutex
	failed map[string]api.Failure
}

func newSupervisor(log *slog.Logger, reg prometheus.Registerer) *supervisor {
	s := &supervisor{
		log: log,
		now: time.Now,
		fail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_component_failures_total",
			Help: "Failures of a part of the daemon (a room, a dock, the uploader, ...), by kind; the part is started again.",
		}, []string{"component"}),
		down: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custodian_component_down",
			Help: "Parts of the daemon that failed and have not run steadily since, by kind.",
		}, []string{"component"}),
		failed: map[string]api.Failure{},
	}
	if reg != nil {
		reg.MustRegister(s.fail, s.down)
	}
	return s
}

// Failures lists the parts that are down, by name.
func (s *supervisor) Failures() []api.Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]api.Failure, 0, len(s.failed))
	for _, f := range s.failed {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// run starts tiers in order and returns once every part has stopped. When
// ctx ends or a vital part fails, the tiers stop in reverse order, each
// waited for before the next is told to stop. The error is the vital
// part's, if one failed.
func (s *supervisor) run(ctx context.Context, tiers ...[]part) error {
	fatal := make(chan error, 1)
	stops := make([]context.CancelFunc, len(tiers))
	waits := make([]*sync.WaitGroup, len(tiers))
	for i, tier := range tiers {
		// Tiers are stopped one by one below, not by ctx all at once.
		tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stops[i], waits[i] = cancel, &sync.WaitGroup{}
		for _, p := range tier {
			waits[i].Go(func() { s.keep(tctx, p, fatal) })
		}
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-fatal:
	}
	for i := len(tiers) - 1; i >= 0; i-- {
		stops[i]()
		waits[i].Wait()
	}
	return err
}

// keep runs p until ctx ends, starting it again after each failure.
func (s *supervisor) keep(ctx context.Context, p part, fatal chan<- error) {
	wait := restartMin
	for {
		steady := time.AfterFunc(steadyAfter, func() { s.recovered(p) })
		err := p.run(ctx)
		steady.Stop()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = fmt.Errorf("stopped on its own")
		}
		if p.vital {
			s.log.Error("vital part failed; custodian stops", "part", p.name, "err", err)
			select {
			case fatal <- fmt.Errorf("%s: %w", p.name, err):
			default:
			}
			return
		}
		s.failedOnce(p, err, wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, restartMax)
	}
}

func (s *supervisor) failedOnce(p part, err error, wait time.Duration) {
	s.fail.WithLabelValues(p.kind).Inc()
	s.mu.Lock()
	f, was := s.failed[p.name]
	if !was {
		f = api.Failure{Name: p.name, Kind: p.kind, Since: s.now().UTC()}
		s.down.WithLabelValues(p.kind).Inc()
	} else {
		f.Restarts++
	}
	f.Error = err.Error()
	s.failed[p.name] = f
	s.mu.Unlock()
	s.log.Error("part failed; the rest keeps running, it is tried again", "part", p.name, "err", err, "retry_in", wait)
}

func (s *supervisor) recovered(p part) {
	s.mu.Lock()
	_, was := s.failed[p.name]
	delete(s.failed, p.name)
	s.mu.Unlock()
	if was {
		s.down.WithLabelValues(p.kind).Dec()
		s.log.Info("part running again", "part", p.name)
	}
}
