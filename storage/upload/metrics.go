package upload

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the uploader's metrics.
type Metrics struct {
	Bytes        prometheus.Counter
	Errors       *prometheus.CounterVec
	Duration     prometheus.Histogram
	Reachable    prometheus.Gauge
	Backlog      prometheus.Gauge
	BacklogBytes prometheus.Gauge
	OldestAge    prometheus.Gauge
}

// NewMetrics registers the archive metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custodian_archive_upload_bytes_total",
			Help: "Bytes of recordings archived and proven on arrival.",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_archive_upload_errors_total",
			Help: "Failed uploads by kind: auth, bucket, rejected, integrity (permanent); network, server (transient); local, corrupt, catalog.",
		}, []string{"kind"}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "custodian_archive_upload_duration_seconds",
			Help:    "Time from the re-verification of a staged copy to its record marked archived.",
			Buckets: prometheus.ExponentialBuckets(0.05, 3, 10), // 50 ms to about 16 min
		}),
		Reachable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custodian_archive_reachable",
			Help: "1 when the last contact with the archive succeeded, 0 when it failed.",
		}),
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custodian_archive_backlog_recordings",
			Help: "Verified recordings waiting for upload.",
		}),
		BacklogBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custodian_archive_backlog_bytes",
			Help: "Bytes of verified recordings waiting for upload.",
		}),
		OldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custodian_archive_oldest_unarchived_age_seconds",
			Help: "How long the longest-waiting verified recording has waited for upload.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Bytes, m.Errors, m.Duration, m.Reachable, m.Backlog, m.BacklogBytes, m.OldestAge)
	}
	return m
}
