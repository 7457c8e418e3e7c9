package admin

import (
	"net/http"

	"custodian/admin/api"
	"custodian/hardware/disk"
)

// Sources is the live state of the daemon's sources, and what the check of
// staging found at start; serve fills it. Docks and Rooms are sent as they
// are, so an empty list is sent as [] and a nil one left out.
type Sources struct {
	Docks     []api.Dock
	Rooms     []api.Room
	Reconcile api.Reconcile
	// Failures are the daemon's parts that failed and are being retried.
	Failures []api.Failure
	// Checks are the background checks running now.
	Checks []api.Check
}

// recentStatusEvents is how many custody events the status carries.
const recentStatusEvents = 20

// status serves GET /api/v1/status: what the status page shows, as JSON.
func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	counts, err := s.cat.Counts()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "catalog read failed")
		return
	}
	events, err := s.cat.RecentEvents(recentStatusEvents)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "catalog read failed")
		return
	}
	d := s.pageData()
	out := api.Status{
		Alerts:  orEmpty(d.Alerts),
		Counts:  counts,
		Events:  api.List(events, apiEvent),
		Level:   d.Level,
		Station: s.cfg.Station,
		Version: s.cfg.Version,
	}
	if s.cfg.Status != nil {
		out.Docks, out.Rooms, out.Reconcile = d.sources.Docks, d.sources.Rooms, &d.sources.Reconcile
		out.Failures, out.Checks = d.sources.Failures, d.sources.Checks
	}
	if s.cfg.Health != nil {
		h := apiHealth(d.Health)
		out.Health = &h
	}
	out.Clock = d.Clock
	out.Approvals = d.Approvals
	out.Retention = s.cfg.Rule
	writeJSON(w, http.StatusOK, out)
}

func apiHealth(r disk.Report) api.Health {
	return api.Health{Time: r.Time, Level: r.Level, Volumes: api.List(r.Volumes, apiVolume)}
}

func apiVolume(v disk.VolumeHealth) api.Volume {
	return api.Volume{
		Role: v.Role, Path: v.Path, MountPoint: v.MountPoint, FSType: v.FSType, Device: v.Device,
		TotalBytes: v.TotalBytes, FreeBytes: v.FreeBytes, UsedBytes: v.UsedBytes,
		TotalInodes: v.TotalInodes, FreeInodes: v.FreeInodes, IOErrors: v.IOErrors,
		ReadLatency: v.ReadLatency, WriteLatency: v.WriteLatency, Marker: v.Marker,
		SMART: api.SMART(v.SMART), Level: v.Level, Problems: v.Problems,
	}
}
