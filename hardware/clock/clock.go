// Package clock judges whether the station's own clock can be trusted: the
// kernel's NTP synchronisation state, and steps of the wall clock.
package clock

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
//
// DefaultMaxError is above what a synchronised clock reports between two
// updates of its NTP daemon (systemd-timesyncd resets the kernel's bound to 0
// and polls at most every 2048 s, while the kernel adds 500 µs a second: 1.02
// s), with room for a missed poll, and well under the 16 s at which the
// kernel gives up and reports the clock unsynchronised itself.
//
// DefaultMaxStep is above a leap second (1 s back) and above the steps NTP
// daemons take on a synchronised clock (timesyncd from 0.4 s, chrony's usual
// makestep 1 s, ntpd from 0.128 s): a larger step means the clock had been
// wrong by more than NTP lets a synchronised clock be.
const (
	DefaultInterval = 30 * time.Second
	DefaultMaxError = 5 * time.Second
	DefaultMaxStep  = 2 * time.Second
)

// Sync is what the operating system says about the clock's synchronisation.
type Sync struct {
	// Known is false where the system does not say (not Linux).
	Known bool
	// Synchronised: an NTP daemon keeps the kernel's clock disciplined
	// (STA_UNSYNC clear and adjtimex not in TIME_ERROR).
	Synchronised bool
	// MaxError is the kernel's bound on the clock's error.
	MaxError time.Duration
}

// Config configures a Monitor.
type Config struct {
	// Interval between samples.
	Interval time.Duration
	// MaxError is the largest error bound a trusted clock may report.
	MaxError time.Duration
	// MaxStep is how far the wall clock may move against the monotonic
	// clock between two samples, either way, before it counts as a step.
	MaxStep time.Duration
	// IgnoreSync judges the clock by its steps alone, for a machine that
	// has no time synchronisation (a test rig).
	IgnoreSync bool
	// Read asks the system about synchronisation; nil: ReadSync.
	Read func() (Sync, error)
	// Now is the wall clock; Monotonic the time elapsed on a clock nobody
	// can set (nil: Go's monotonic reading since New).
	Now       func() time.Time
	Monotonic func() time.Duration
	Log       *slog.Logger
}

func (c *Config) defaults() {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.MaxError <= 0 {
		c.MaxError = DefaultMaxError
	}
	if c.MaxStep <= 0 {
		c.MaxStep = DefaultMaxStep
	}
	if c.Read == nil {
		c.Read = ReadSync
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Monotonic == nil {
		start := time.Now()
		c.Monotonic = func() time.Duration { return time.Since(start) }
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// State is one sample of the clock, and what it makes of the samples before.
type State struct {
	// Time is the wall clock at the sample; zero before the first one.
	Time time.Time
	Sync Sync
	// ReadError says why the system could not be asked.
	ReadError string
	// StepsBack and StepsForward count the steps seen since start;
	// LastStep is the latest one (negative: back) and LastStepAt when it
	// was seen.
	StepsBack, StepsForward int
	LastStep                time.Duration
	LastStepAt              time.Time
	// Stepped: a step was seen and the clock has not been found
	// synchronised on a later sample yet.
	Stepped bool
	// Trusted, or Reason says why not.
	Trusted bool
	Reason  string
}

// Monitor samples the station clock.
type Monitor struct {
	cfg Config

	mu       sync.Mutex
	last     State
	prevMono time.Duration
}

// New builds a monitor; Run samples periodically, Check once.
func New(cfg Config) *Monitor {
	cfg.defaults()
	return &Monitor{cfg: cfg}
}

// Run samples every Interval until ctx is done (the first sample is taken
// at once).
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.Check()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// State is the latest sample.
func (m *Monitor) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// Trusted reports whether times taken from the station clock may be relied
// on, and if not, why. Before the first sample it is not.
func (m *Monitor) Trusted() (ok bool, why string) {
	s := m.State()
	if s.Time.IsZero() {
		return false, "the clock has not been checked yet"
	}
	return s.Trusted, s.Reason
}

// Check samples the clock now, keeps the result as the latest state and
// logs the first sample, every step and every change of trust.
func (m *Monitor) Check() State {
	m.mu.Lock()
	// Round(0) drops Go's monotonic reading: wall against monotonic is
	// the whole point.
	wall, mono := m.cfg.Now().Round(0), m.cfg.Monotonic()
	sync, err := m.cfg.Read()
	prev := m.last
	s := prev
	s.Time, s.Sync, s.ReadError = wall, sync, ""
	if err != nil {
		s.Sync, s.ReadError = Sync{}, err.Error()
	}
	step := time.Duration(0)
	if !prev.Time.IsZero() {
		step = wall.Sub(prev.Time) - (mono - m.prevMono)
	}
	switch {
	case step < -m.cfg.MaxStep:
		s.StepsBack++
	case step > m.cfg.MaxStep:
		s.StepsForward++
	default:
		step = 0
	}
	if step != 0 {
		s.LastStep, s.LastStepAt, s.Stepped = step, wall, true
	} else if s.Stepped && m.syncOK(s) {
		s.Stepped = false // synchronised on a sample after the step
	}
	s.Trusted, s.Reason = m.judge(s)
	m.last, m.prevMono = s, mono
	m.mu.Unlock()
	m.logChange(prev, s, step)
	return s
}

// syncOK reports whether the sample shows a synchronised clock; without
// the system's word (or when told to ignore it), a sample without a step.
func (m *Monitor) syncOK(s State) bool {
	if m.cfg.IgnoreSync || (!s.Sync.Known && s.ReadError == "") {
		return true
	}
	return s.Sync.Known && s.Sync.Synchronised && s.Sync.MaxError <= m.cfg.MaxError
}

// judge says whether a sample may be trusted, and if not, every reason.
func (m *Monitor) judge(s State) (bool, string) {
	var why []string
	if !m.cfg.IgnoreSync {
		switch {
		case s.ReadError != "":
			why = append(why, "the clock's synchronisation cannot be read: "+s.ReadError)
		case !s.Sync.Known:
		case !s.Sync.Synchronised:
			why = append(why, "the kernel reports the clock unsynchronised (is chrony, ntpd or systemd-timesyncd running?)")
		case s.Sync.MaxError > m.cfg.MaxError:
			why = append(why, fmt.Sprintf("the clock's error may be up to %s, more than the %s allowed", s.Sync.MaxError, m.cfg.MaxError))
		}
	}
	if s.Stepped {
		why = append(why, fmt.Sprintf("the clock stepped %s at %s; trusted again once a later check finds it synchronised",
			describeStep(s.LastStep), s.LastStepAt.UTC().Format(time.RFC3339)))
	}
	if len(why) == 0 {
		return true, ""
	}
	return false, strings.Join(why, "; ")
}

// describeStep writes a step as "back 1h0m0s" or "forward 3s".
func describeStep(d time.Duration) string {
	if d < 0 {
		return "back " + (-d).Round(time.Millisecond).String()
	}
	return "forward " + d.Round(time.Millisecond).String()
}

func (m *Monitor) logChange(prev, s State, step time.Duration) {
	args := []any{"synchronised", s.Sync.Synchronised, "max_error", s.Sync.MaxError.String()}
	if !s.Sync.Known {
		args = []any{"synchronised", "unknown"}
	}
	if step != 0 {
		m.cfg.Log.Error("station clock stepped", "step", describeStep(step), "at", s.Time.UTC().Format(time.RFC3339))
	}
	switch {
	case prev.Time.IsZero() && s.Trusted:
		m.cfg.Log.Info("station clock trusted", args...)
	case (prev.Time.IsZero() || prev.Trusted) && !s.Trusted:
		m.cfg.Log.Warn("station clock not trusted", append(args, "reason", s.Reason)...)
	case !prev.Trusted && s.Trusted:
		m.cfg.Log.Info("station clock trusted again", args...)
	}
}
