package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"custodian/admin/api"
	"custodian/hardware/clock"
	"custodian/hardware/disk"
)

// apiClock is the API's view of the station clock.
func apiClock(s clock.State) api.Clock {
	c := api.Clock{Time: s.Time, StepsBack: s.StepsBack, StepsForward: s.StepsForward, Trusted: s.Trusted, Reason: s.Reason}
	if s.Sync.Known {
		sync, maxErr := s.Sync.Synchronised, s.Sync.MaxError.Seconds()
		c.Synchronised, c.MaxErrorSeconds = &sync, &maxErr
	}
	return c
}

// clockLevel grades the station clock: a step shows it was wrong, which
// every time recorded around it may be; unsynchronised, it may drift.
func clockLevel(s clock.State) disk.Level {
	switch {
	case s.Trusted:
		return disk.LevelOK
	case s.Stepped:
		return disk.LevelCritical
	default:
		return disk.LevelWarning
	}
}

func clockAlerts(c *api.Clock, l disk.Level) []api.Alert {
	if c == nil || c.Trusted {
		return nil
	}
	return []api.Alert{alert(l, "The station clock is not trusted: "+c.Reason+
		". Retention evicts, expires and deletes nothing until it is.")}
}

// clockCollector describes custodian_clock_*, from the latest check.
type clockCollector struct {
	state                           func() clock.State
	synchronised, maxError, trusted *prometheus.Desc
	steps                           *prometheus.Desc
}

func newClockCollector(state func() clock.State) *clockCollector {
	return &clockCollector{
		state:        state,
		synchronised: prometheus.NewDesc("custodian_clock_synchronised", "1 when the kernel reports the station clock synchronised by NTP, 0 when not; absent where the system does not say.", nil, nil),
		maxError:     prometheus.NewDesc("custodian_clock_max_error_seconds", "The kernel's bound on the station clock's error; absent where the system does not say.", nil, nil),
		trusted:      prometheus.NewDesc("custodian_clock_trusted", "1 when the station clock is trusted; while 0, retention evicts, expires and deletes nothing.", nil, nil),
		steps:        prometheus.NewDesc("custodian_clock_steps_total", "Steps of the station clock against the monotonic clock beyond clock.max_step, by direction (back, forward).", []string{"direction"}, nil),
	}
}

func (c *clockCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.synchronised
	ch <- c.maxError
	ch <- c.trusted
	ch <- c.steps
}

func (c *clockCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.state()
	if s.Time.IsZero() {
		return // not checked yet
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	one := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	if s.Sync.Known {
		gauge(c.synchronised, one(s.Sync.Synchronised))
		gauge(c.maxError, s.Sync.MaxError.Seconds())
	}
	gauge(c.trusted, one(s.Trusted))
	ch <- prometheus.MustNewConstMetric(c.steps, prometheus.CounterValue, float64(s.StepsBack), "back")
	ch <- prometheus.MustNewConstMetric(c.steps, prometheus.CounterValue, float64(s.StepsForward), "forward")
}
