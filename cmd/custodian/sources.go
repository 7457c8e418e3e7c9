package main

import (
	"custodian/admin"
	"custodian/admin/api"
	"custodian/ingest/dock"
	"custodian/ingest/room"
	"custodian/storage/staging"
	"custodian/storage/upload"
)

// sources reports the docks, the rooms and what reconcile found at start
// to the status page and GET /api/v1/status.
func sources(docks []*dock.Dock, rooms roomSet, rep staging.ReconcileReport, sup *supervisor, audit *upload.Progress) func() admin.Sources {
	return func() admin.Sources {
		st := make([]dock.Status, 0, len(docks))
		for _, d := range docks {
			st = append(st, d.Status())
		}
		src := apiSources(st, rooms.Status(), rep)
		src.Failures = sup.Failures()
		if c := audit.State(); c.Running {
			src.Checks = append(src.Checks, api.Check{Name: "custody trail against the archive", Started: c.Started,
				Done: c.Done, Total: c.Total, Unit: "events"})
		}
		return src
	}
}

// apiSources is the sources' state in the admin API's terms. The status
// types of docks, rooms and reconcile convert directly while they have the
// fields of the API's; a field one of them gains stops the build here.
func apiSources(docks []dock.Status, rooms []room.Status, rep staging.ReconcileReport) admin.Sources {
	return admin.Sources{
		Docks:     api.List(docks, apiDock),
		Rooms:     api.List(rooms, func(r room.Status) api.Room { return api.Room(r) }),
		Reconcile: api.Reconcile(rep),
	}
}

func apiDock(d dock.Status) api.Dock {
	return api.Dock{ID: d.ID, Path: d.Path, LastScan: d.LastScan, Error: d.Error, Paused: d.Paused,
		Slots: api.List(d.Slots, func(s dock.SlotStatus) api.Slot { return api.Slot(s) })}
}
