package room

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the interview-room series; the room label is bounded by
// the config.
type Metrics struct {
	Connected    *prometheus.GaugeVec
	Recording    *prometheus.GaugeVec
	Reconnects   *prometheus.CounterVec
	Gaps         *prometheus.CounterVec
	PacketsLost  *prometheus.CounterVec
	Overflow     *prometheus.CounterVec
	DecodeErrors *prometheus.CounterVec
	TimeDrift    *prometheus.CounterVec
}

// NewMetrics registers the room metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custodian_room_connected",
			Help: "1 while the room's RTSP feed is being recorded, else 0.",
		}, []string{"room"}),
		Recording: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custodian_room_recording",
			Help: "1 while a segment of the room's feed is being written, else 0; the status says since when and why not.",
		}, []string{"room"}),
		Reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_room_reconnects_total",
			Help: "Times the room's feed was lost or could not be reached and custodian tried again.",
		}, []string{"room"}),
		Gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_room_gaps_total",
			Help: "Holes in a room's recording, by reason; each is also in the catalog.",
		}, []string{"room", "reason"}),
		PacketsLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_room_packets_lost_total",
			Help: "RTP packets the camera sent that never arrived (sequence gaps).",
		}, []string{"room"}),
		Overflow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_room_queue_overflow_total",
			Help: "Media units dropped because the room's writer fell behind; recorded as gaps.",
		}, []string{"room"}),
		DecodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_room_decode_errors_total",
			Help: "RTP packets or access units that could not be depacketised or timed.",
		}, []string{"room"}),
		TimeDrift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_room_time_drift_total",
			Help: "Segments whose camera media time differs from the station time they took to arrive by more than max_drift (flagged time-drift).",
		}, []string{"room"}),
	}
	if reg != nil {
		reg.MustRegister(m.Connected, m.Recording, m.Reconnects, m.Gaps, m.PacketsLost, m.Overflow, m.DecodeErrors, m.TimeDrift)
	}
	return m
}

// WatchSession registers custodian_room_session_active{room}: 1 while an
// interview session is open in the room, read from open at each scrape.
// With custodian_room_connected it tells a session that is not recorded.
func WatchSession(reg prometheus.Registerer, room string, open func() bool) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "custodian_room_session_active",
		Help:        "1 while an interview session is open in the room, else 0.",
		ConstLabels: prometheus.Labels{"room": room},
	}, func() float64 {
		if open() {
			return 1
		}
		return 0
	}))
}
