package main

import (
	"encoding/json"
	"testing"
	"time"

	"custodian/ingest/dock"
	"custodian/ingest/room"
	"custodian/retention"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// sameJSON checks that a value and its API form marshal to the same bytes:
// the API sends what these types sent before it had types of its own.
func sameJSON(t *testing.T, name string, before, after any) {
	t.Helper()
	b, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	a, err := json.Marshal(after)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("%s:\napi   %s\nbefore %s", name, a, b)
	}
}

// TestSourcesJSON converts statuses with every field set, and empty ones.
func TestSourcesJSON(t *testing.T) {
	now := goldenNow
	docks := []dock.Status{
		{ID: "dock-a", Path: "/srv/docks/a", LastScan: now, Error: "scan: permission denied", Paused: true,
			Slots: []dock.SlotStatus{{Slot: "J0123456", Device: "J0123456", DockedSince: now.Add(-time.Hour), PendingFiles: 3,
				PendingBytes: 3 << 30, DoneFiles: 9, DoneBytes: 9 << 30, LastOffload: now.Add(-time.Minute), LastError: "read: EIO"}}},
		{ID: "dock-b", Path: "/srv/docks/b"},
		{ID: "dock-c", Path: "/srv/docks/c", Slots: []dock.SlotStatus{}},
	}
	rooms := []room.Status{
		{ID: "room-1", URL: "rtsp://cam1/live", Connected: true, Since: now, Segment: "room-1_x.mp4", Codecs: []string{"h264", "aac"},
			Reconnects: 2, LastError: "EOF", Sealed: 11},
		{ID: "room-2"},
	}
	full := staging.ReconcileReport{PartialRemoved: []string{"tmp-1"}, Orphans: []string{"dddd"}, Verified: []uint64{3}, Missing: []uint64{6}}
	for _, rep := range []staging.ReconcileReport{full, {}} {
		got := apiSources(docks, rooms, rep)
		sameJSON(t, "docks", docks, got.Docks)
		sameJSON(t, "rooms", rooms, got.Rooms)
		sameJSON(t, "reconcile", rep, got.Reconcile)
	}
	got := apiSources([]dock.Status{}, []room.Status{}, full)
	sameJSON(t, "no docks", []dock.Status{}, got.Docks)
	sameJSON(t, "no rooms", []room.Status{}, got.Rooms)
}

// TestPlanReportJSON converts a plan and a report with every field set,
// and empty ones.
func TestPlanReportJSON(t *testing.T) {
	actions := []retention.Action{{Kind: retention.Evict, ID: 1, SHA256: "aa", Size: 1 << 30, Reason: "archived and past local_keep"},
		{Kind: retention.MarkExpired, ID: 2, SHA256: "bb", Size: 4096, Reason: "past the standard period"}}
	for _, res := range []retention.Result{{Actions: actions, Short: 1 << 20, Warnings: []string{"clock went backwards"}}, {}} {
		sameJSON(t, "plan", res, apiPlan(res))
	}
	row := retention.ReportRow{Key: "room-1", Files: 2, Bytes: 8192, Archived: 1, Pending: 1, Seconds: 3540, GapSeconds: 60,
		Gaps: map[string]float64{catalog.GapDisconnect: 45, catalog.GapStall: 15}}
	for _, rep := range []retention.Report{
		{Day: "2026-11-21", Officers: []retention.ReportRow{row}, Devices: []retention.ReportRow{{Key: "J0123456"}}, Rooms: []retention.ReportRow{},
			Held: 1, Expired: 2, Trouble: []uint64{7}, EnteringGrace: actions,
			NotDocked: retention.NotDocked{Officers: []string{"100002"}, Devices: []string{"J0000002", "J0000003"}}},
		{},
	} {
		sameJSON(t, "report", rep, apiReport(rep))
	}
}
