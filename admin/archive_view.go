package admin

import (
	"time"

	dto "github.com/prometheus/client_model/go"
)

// archiveView is the upload backlog as the status page shows it. It is read
// from the daemon's own metrics, which the uploader and the retention
// keeper keep current, so the page needs no interface of theirs.
type archiveView struct {
	Configured bool
	Reachable  bool
	Waiting    int
	WaitBytes  int64
	Oldest     time.Duration
	// ShortBytes is staging space retention could not free; docks pause.
	ShortBytes int64
}

// OldestWarning is the wait for upload beyond which the page warns; the
// alert rules use the same 6 h.
const OldestWarning = 6 * time.Hour

// gather reads the daemon's own metrics for the status page.
func (s *Server) gather() []*dto.MetricFamily {
	families, err := s.reg.Gather()
	if err != nil {
		s.log.Warn("status page: gather metrics", "err", err)
	}
	return families
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}

func newArchiveView(families []*dto.MetricFamily) archiveView {
	var v archiveView
	for _, f := range families {
		if len(f.GetMetric()) != 1 {
			continue // these metrics carry no labels
		}
		x := metricValue(f.GetMetric()[0])
		switch f.GetName() {
		case "custodian_archive_reachable":
			v.Configured, v.Reachable = true, x == 1
		case "custodian_archive_backlog_recordings":
			v.Waiting = int(x)
		case "custodian_archive_backlog_bytes":
			v.WaitBytes = int64(x)
		case "custodian_archive_oldest_unarchived_age_seconds":
			v.Oldest = time.Duration(x * float64(time.Second))
		case "custodian_retention_short_bytes":
			v.ShortBytes = int64(x)
		}
	}
	return v
}

// sessionsActive is the set of rooms with an open interview session, read
// from custodian_room_session_active for the same reason as the archive.
func sessionsActive(families []*dto.MetricFamily) map[string]bool {
	active := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "custodian_room_session_active" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "room" && metricValue(m) == 1 {
					active[l.GetValue()] = true
				}
			}
		}
	}
	return active
}
