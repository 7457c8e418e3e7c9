// Package ingest owns what every source of recordings (ingest/dock,
// ingest/room) shares: the daemon's Env, the ingest counters and their
// error kinds.
package ingest

import "github.com/prometheus/client_golang/prometheus"

// Error kinds counted by custodian_ingest_errors_total; a bounded set.
const (
	ErrKindRead        = "read"         // the source could not be read (camera unplugged, I/O error)
	ErrKindStagingFull = "staging_full" // no space left in staging
	ErrKindStage       = "stage"        // any other staging write or fsync failure
	ErrKindVerify      = "verify"       // a re-read did not match
	ErrKindCatalog     = "catalog"      // the catalog refused a write
	ErrKindRelease     = "release"      // a verified source could not be deleted from the camera
	ErrKindChanged     = "changed"      // the source changed while it was copied
)

// Metrics are the ingest counters; one set is shared by every dock and room.
type Metrics struct {
	Files   *prometheus.CounterVec
	Bytes   *prometheus.CounterVec
	Errors  *prometheus.CounterVec
	Skipped *prometheus.CounterVec
	Cameras *prometheus.GaugeVec
	Pending *prometheus.GaugeVec
	// ClockOffset and ClockSuspect are what docks measure of camera clocks.
	ClockOffset  *prometheus.GaugeVec
	ClockSuspect *prometheus.CounterVec
	// Left is what docks leave on cameras unread, by reason; Unregistered
	// counts recordings from devices the devices table does not know.
	Left         *prometheus.GaugeVec
	Unregistered *prometheus.CounterVec
}

// NewMetrics registers the ingest metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_ingest_files_total",
			Help: "Recordings staged, verified and catalogued, by source (dock or room).",
		}, []string{"source"}),
		Bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_ingest_bytes_total",
			Help: "Bytes staged, verified and catalogued, by source.",
		}, []string{"source"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_ingest_errors_total",
			Help: "Failed ingest steps by source and kind; the source is kept and retried.",
		}, []string{"source", "kind"}),
		Skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_ingest_skipped_total",
			Help: "Dock entries never read, counted once each when first seen: symlinks, FIFOs, device nodes, sockets, folders below max_depth, paths that left the dock.",
		}, []string{"reason"}),
		Cameras: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custodian_dock_cameras",
			Help: "Cameras currently docked, by dock.",
		}, []string{"dock"}),
		Pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custodian_dock_pending_files",
			Help: "Files on docked cameras not yet released (where the dock keeps files: not yet catalogued), by dock.",
		}, []string{"dock"}),
		ClockOffset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custodian_dock_camera_clock_offset_seconds",
			Help: "Largest clock offset, either way, of the cameras docked now, as measured when each docked, by dock (0: none).",
		}, []string{"dock"}),
		ClockSuspect: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_dock_clock_suspect_total",
			Help: "Dockings of a camera whose clock was off by more than the dock's max_clock_offset, by dock.",
		}, []string{"dock"}),
		Left: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custodian_dock_left_files",
			Help: "Entries on docked cameras that stay unread (symlink, special, too_deep, unreadable, outside), by dock and reason, as of the last scan.",
		}, []string{"dock", "reason"}),
		Unregistered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodian_dock_unregistered_recordings_total",
			Help: "Recordings ingested from a device the devices table does not know (or that has no serial), by dock.",
		}, []string{"dock"}),
	}
	if reg != nil {
		reg.MustRegister(m.Files, m.Bytes, m.Errors, m.Skipped, m.Cameras, m.Pending, m.ClockOffset, m.ClockSuspect,
			m.Left, m.Unregistered)
	}
	return m
}
