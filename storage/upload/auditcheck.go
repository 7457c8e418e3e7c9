package upload

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/storage/catalog"
)

// DefaultVerifyInterval is how often the daemon checks the custody trail
// against its archived chunks.
const DefaultVerifyInterval = 6 * time.Hour

// AuditVerifier checks the custody trail on a schedule, as `custodian audit
// verify` does by hand: the chain in the catalog and the chunks the archive
// itself lists. A broken trail is logged at ERROR, shown by
// custodian_audit_trail_intact 0 and alerted on.
type AuditVerifier struct {
	Catalog  *catalog.Catalog
	Store    Lister
	Station  string
	Interval time.Duration // 0: DefaultVerifyInterval
	Log      *slog.Logger
	Metrics  *AuditMetrics
	// Progress, if not nil, follows each check while it reads the trail.
	Progress *Progress
}

// AuditMetrics are what the verifier found last.
type AuditMetrics struct {
	Intact  prometheus.Gauge
	Checked prometheus.Gauge
}

// NewAuditMetrics registers the verifier's metrics with reg.
func NewAuditMetrics(reg prometheus.Registerer) *AuditMetrics {
	m := &AuditMetrics{
		Intact: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custodian_audit_trail_intact",
			Help: "1 when the last check of the custody trail (the catalog's chain and the chunks the archive lists) found it whole, 0 when it named a missing or altered event.",
		}),
		Checked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custodian_audit_last_check_timestamp_seconds",
			Help: "When the custody trail was last checked against the archive (Unix time; 0: not yet).",
		}),
	}
	m.Intact.Set(1)
	if reg != nil {
		reg.MustRegister(m.Intact, m.Checked)
	}
	return m
}

// Run checks at start and every Interval until ctx is done.
func (v AuditVerifier) Run(ctx context.Context) error {
	interval := v.Interval
	if interval <= 0 {
		interval = DefaultVerifyInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		v.check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (v AuditVerifier) check(ctx context.Context) {
	if v.Progress != nil {
		total, _ := v.Catalog.LastEventSeq() // only for the status page
		v.Progress.start(int(total))
		defer v.Progress.finish()
	}
	n, err := verifyAudit(ctx, v.Catalog, v.Store, v.Station, v.Progress)
	if ctx.Err() != nil {
		return // shutting down: no verdict
	}
	var ce *catalog.ChainError
	switch {
	case err == nil:
		v.Metrics.Intact.Set(1)
		v.Log.Info("custody trail verified against the archive", "events", n)
	case errors.As(err, &ce):
		v.Metrics.Intact.Set(0)
		v.Log.Error("custody trail broken", "event", ce.Seq, "err", err)
	default:
		// The archive did not answer: no verdict either way.
		v.Log.Warn("custody trail not checked against the archive; will try again", "err", err)
		return
	}
	v.Metrics.Checked.SetToCurrentTime()
}
