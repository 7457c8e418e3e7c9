package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"custodian/admin/api"
	"custodian/internal/golden"
	"custodian/storage/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/api")

// The samples set every field the API carries, so a field that goes
// missing, changes its name or its omission shows in the golden files.

func sampleRecording() catalog.Recording {
	at := func(min int) time.Time { return testTime.Add(time.Duration(min) * time.Minute) }
	return catalog.Recording{
		ID: 1, Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Slot: "slot-3",
		Device: "J0123456", Officer: "012345", Profile: "gat947",
		Name: "J0123456_012345_20261121083015_0001.MP4", NameRaw: []byte{0xff, 'a'}, RelPath: "DCIM/100MEDIA/J0123456_012345_20261121083015_0001.MP4",
		Ext: ".mp4", Kind: "video", Seq: 1,
		StartedAt: at(-60), CameraTime: at(-61), ModTime: at(-50), ReceivedAt: at(-10),
		CameraClockOffset: -time.Minute, CameraClockBasis: catalog.ClockSinceEmptied,
		Size: 1 << 30, SHA256: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		Important: true, Locked: true, Flags: []string{catalog.FlagClockSuspect, catalog.FlagNameNotUTF8},
		State: catalog.StateExpiring, StagedAt: at(-9), VerifiedAt: at(-8), ReleasedAt: at(-7),
		PendingRelease: []byte("/srv/docks/a/CAM1/x.MP4"), UpdatedAt: at(-1),
		ArchiveKey: "st01/2026/11/21/aaaa.mp4", ArchiveVersion: "v-1", ArchivedAt: at(-6), RetainUntil: at(60 * 24 * 365),
		LegalHold: true, UploadAttempts: 2, LastUploadError: "PUT: 503 Slow Down",
		Holds: []catalog.Hold{{Reason: "evidence", By: "wang.li", At: at(-5), Why: "case A-1", Case: "A-1"},
			{Reason: catalog.HoldImportantFlag, By: catalog.ActorCustodian, At: at(-9), Why: "marked on the camera"}},
		Cases: []string{"A-1"}, EvictedAt: at(-4), ExpiringAt: at(-3), DeleteMarker: "dm-1", ExpiredAt: at(-2),
		EndedAt: at(-30), Codecs: []string{"h264", "aac"}, Case: "A-1", Subject: "P-77",
		Officers: []string{"012345", "054321"}, Sessions: []uint64{4, 5},
	}
}

// sampleSegment is a room segment with only what the catalog always sets.
func sampleSegment() catalog.Recording {
	return catalog.Recording{
		ID: 2, Station: "st01", Source: catalog.SourceRoom, SourceID: "room-1", Name: "room-1_20261121T073000Z.mp4",
		StartedAt: testTime.Add(-time.Hour), ReceivedAt: testTime, Size: 4096,
		SHA256: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", State: catalog.StateStaged, UpdatedAt: testTime,
	}
}

func sampleEvents() []catalog.Event {
	return []catalog.Event{
		{Seq: 2, Time: testTime, Type: catalog.EventHeld, Recording: 1, SHA256: sampleRecording().SHA256,
			Actor: "wang.li", Detail: "evidence: case A-1", Prev: "p2", Hash: "h2"},
		{Seq: 1, Time: testTime.Add(-time.Minute), Type: EventNote, Actor: "wang.li", Prev: "", Hash: "h1"},
	}
}

func sampleSession() catalog.Session {
	return catalog.Session{ID: 4, Room: "room-1", Case: "A-1", Subject: "P-77", Officers: []string{"012345", "054321"},
		Note: "first interview", StartedAt: testTime.Add(-50 * time.Minute), EndedAt: testTime.Add(-10 * time.Minute),
		StartedBy: "wang.li", StoppedBy: "zhao.min"}
}

func sampleGap() catalog.Gap {
	return catalog.Gap{Room: "room-1", Start: testTime.Add(-40 * time.Minute), End: testTime.Add(-39 * time.Minute),
		Reason: catalog.GapDisconnect, Detail: "EOF"}
}

func samplePlan() api.Plan {
	return api.Plan{
		Actions: []api.Action{{Kind: "evict", ID: 1, SHA256: sampleRecording().SHA256, Size: 1 << 30, Reason: "archived and past local_keep"},
			{Kind: "mark-expired", ID: 2, SHA256: sampleSegment().SHA256, Size: 4096, Reason: "past the standard period"}},
		Short: 1 << 20, Warnings: []string{"clock went backwards"},
	}
}

func sampleReport() api.Report {
	return api.Report{
		Day:      "2026-11-21",
		Officers: []api.ReportRow{{Key: "012345", Files: 3, Bytes: 3 << 30, Archived: 2, Pending: 1}},
		Devices:  []api.ReportRow{{Key: "J0123456", Files: 3, Bytes: 3 << 30, Archived: 2, Pending: 1}},
		Rooms: []api.ReportRow{{Key: "room-1", Files: 2, Bytes: 8192, Archived: 0, Pending: 2,
			Seconds: 3540, GapSeconds: 60, Gaps: map[string]float64{catalog.GapDisconnect: 45, catalog.GapStall: 15}}},
		Held: 1, Expired: 0, Trouble: []uint64{7},
		EnteringGrace: []api.Action{{Kind: "mark-expired", ID: 9, SHA256: "cc", Size: 10, Reason: "past the standard period"}},
		ClockOffsets:  []api.ClockRow{{Device: "J0123456", OffsetSeconds: -5184300, Basis: catalog.ClockStale, Recordings: 3, Flagged: true}},
		NotDocked:     api.NotDocked{Officers: []string{"054321"}, Devices: []string{"J0999999"}},
	}
}

func sampleStatus() Sources {
	return Sources{
		Docks: []api.Dock{
			{ID: "dock-a", Path: "/srv/docks/a", LastScan: testTime.Add(-5 * time.Second), Error: "scan: permission denied", Paused: true,
				Slots: []api.Slot{
					{Slot: "J0123456", Device: "J0123456", DockedSince: testTime.Add(-25 * time.Minute), PendingFiles: 3, PendingBytes: 3 << 30,
						DoneFiles: 9, DoneBytes: 9 << 30, LastOffload: testTime.Add(-20 * time.Second), LastError: "read: input/output error",
						ClockOffset: 2 * time.Hour, ClockBasis: catalog.ClockAhead, ClockSuspect: true},
					{Slot: "slot-2", DockedSince: testTime.Add(-time.Minute), ClockBasis: catalog.ClockConsistent},
				}},
			{ID: "dock-b", Path: "/srv/docks/b"},
		},
		Rooms: []api.Room{
			{ID: "room-1", URL: "rtsp://cam1/live", Connected: true, Since: testTime.Add(-time.Hour), Segment: "room-1_20261121T073000Z.mp4",
				Codecs: []string{"h264", "aac"}, Reconnects: 2, Sealed: 11},
			{ID: "room-2", URL: "rtsp://cam2/live", LastError: "dial tcp 10.0.0.9:554: connection refused", Reconnects: 40},
			{ID: "room-3", Listen: "rtsp://0.0.0.0:8554/room-3", Reconnects: 1, LastError: "stream: torn down by 10.0.0.7:40474",
				NotRecordingSince: testTime.Add(-30 * time.Second), NotRecordingReason: "waiting for recorder"},
		},
		Reconcile: api.Reconcile{PartialRemoved: []string{"tmp-1"}, Orphans: []string{"dddd"}, Verified: []uint64{3}, Missing: []uint64{6}},
		Checks: []api.Check{{Name: "custody trail against the archive", Started: testTime.Add(-90 * time.Second),
			Done: 1228800, Total: 4855863, Unit: "events"}},
	}
}

// goldenCatalog answers the catalog reads and writes with the samples.
type goldenCatalog struct{}

func (goldenCatalog) ListContext(_ context.Context, f catalog.Filter) ([]catalog.Recording, error) {
	switch {
	case f.Officer == "nobody", f.SourceID == "room-9":
		return nil, nil
	case f.Source == catalog.SourceRoom:
		return []catalog.Recording{sampleSegment()}, nil
	}
	return []catalog.Recording{sampleRecording(), sampleSegment()}, nil
}

// List is ListContext for the rooms' view (RoomCatalog).
func (c goldenCatalog) List(f catalog.Filter) ([]catalog.Recording, error) {
	return c.ListContext(context.Background(), f)
}

// ListPageContext cuts the samples to the page and gives a cursor when it does.
func (c goldenCatalog) ListPageContext(ctx context.Context, f catalog.Filter) ([]catalog.Recording, catalog.Cursor, error) {
	recs, _ := c.ListContext(ctx, f)
	if f.Limit > 0 && len(recs) > f.Limit {
		return recs[:f.Limit], catalog.Cursor{'i', 0, 0, 0, 0, 0, 0, 0, byte(f.Limit)}, nil
	}
	return recs, nil, nil
}

func (goldenCatalog) Get(id uint64) (catalog.Recording, error) {
	if id != 1 {
		return catalog.Recording{}, catalog.ErrNotFound
	}
	return sampleRecording(), nil
}

func (goldenCatalog) Append(...catalog.Event) error { return nil }
func (goldenCatalog) Counts() (map[catalog.State]int, error) {
	return map[catalog.State]int{catalog.StateStaged: 1, catalog.StateExpiring: 1, catalog.StateMissing: 2}, nil
}
func (goldenCatalog) Held() (int, error)                        { return 1, nil }
func (goldenCatalog) RecentEvents(int) ([]catalog.Event, error) { return sampleEvents(), nil }

func (goldenCatalog) Gaps(room string, _, _ time.Time) ([]catalog.Gap, error) {
	if room != "room-1" {
		return nil, nil
	}
	return []catalog.Gap{sampleGap()}, nil
}

func (goldenCatalog) Sessions(room string, _, _ time.Time) ([]catalog.Session, error) {
	if room != "room-1" {
		return nil, nil
	}
	return []catalog.Session{sampleSession()}, nil
}

func (goldenCatalog) StartSession(s catalog.Session) (catalog.Session, error) {
	s.ID, s.StartedAt = 6, testTime
	return s, nil
}

func (goldenCatalog) StopSession(string, time.Time, string) (catalog.Session, error) {
	return sampleSession(), nil
}

// goldenRetention answers the retention routes with the samples.
type goldenRetention struct{}

func (goldenRetention) Hold(_ context.Context, ids []uint64, _ catalog.Filter, _ catalog.Hold) ([]uint64, error) {
	if len(ids) == 0 {
		return []uint64{1, 2}, errors.New("archive: legal hold: 503")
	}
	return ids, nil
}

func (goldenRetention) Release(context.Context, uint64, string, string, string) (catalog.Recording, error) {
	return sampleRecording(), nil
}
func (goldenRetention) Plan(_ context.Context, _ time.Time, emit func(api.Action) error) (api.Plan, error) {
	p := samplePlan()
	for _, a := range p.Actions {
		if err := emit(a); err != nil {
			return api.Plan{}, err
		}
	}
	p.Actions = nil
	return p, nil
}
func (goldenRetention) Report(context.Context, time.Time) (api.Report, error) {
	return sampleReport(), nil
}
func (goldenRetention) NeedsApproval(reason string) bool {
	return reason != "" && reason != catalog.HoldImportantFlag
}

// sampleRequest is a pending release of a hold on the sample recording.
func sampleRequest() catalog.Request {
	return catalog.Request{ID: 3, Kind: catalog.RequestRelease, Targets: []catalog.Target{{Recording: 1, Since: testTime.Add(-5 * time.Minute)}},
		Reason: "evidence", Case: "A-1", By: "wang.li", Why: "case closed", At: testTime.Add(-time.Hour),
		Expires: testTime.Add(71 * time.Hour), State: catalog.RequestPending}
}

func (goldenRetention) Ask(q catalog.Request) (catalog.Request, error) {
	if q.Kind == catalog.RequestExport {
		return catalog.Request{ID: 4, Kind: q.Kind, Case: q.Case, By: q.By, Why: q.Why, At: testTime,
			Expires: testTime.Add(72 * time.Hour), State: catalog.RequestPending}, nil
	}
	out := sampleRequest()
	out.Kind, out.Reason, out.Case, out.By, out.Why, out.At, out.Expires = q.Kind, q.Reason, q.Case, q.By, q.Why, testTime, testTime.Add(72*time.Hour)
	return out, nil
}

func (goldenRetention) Decide(_ context.Context, id uint64, by, why string, approve bool) (catalog.Request, error) {
	if id != 3 {
		return catalog.Request{}, catalog.ErrNotFound
	}
	q := sampleRequest()
	if approve && by == q.By {
		return catalog.Request{}, fmt.Errorf("decide request 3: %w", catalog.ErrSelfApproval)
	}
	q.State, q.DecidedBy, q.DecidedAt, q.DecidedWhy = catalog.RequestRejected, by, testTime, why
	if approve {
		q.State = catalog.RequestApproved
	}
	return q, nil
}

func (goldenRetention) Requests() ([]catalog.Request, error) {
	expired := sampleRequest()
	expired.ID, expired.Expires = 2, testTime.Add(-time.Minute)
	return []catalog.Request{expired, sampleRequest()}, nil
}

func (goldenRetention) Request(id uint64) (catalog.Request, error) {
	if id != 3 {
		return catalog.Request{}, catalog.ErrNotFound
	}
	return sampleRequest(), nil
}
func (goldenRetention) VerifyTrail(context.Context) (int, error) {
	return 41, errors.New("event 42: hash does not match")
}

// TestAPIGolden pins the JSON of every route, byte for byte: the CLI and
// whatever else talks to a station reads these bodies.
func TestAPIGolden(t *testing.T) {
	full := Config{Station: "st01", Version: "v1.0.0-test", Location: time.UTC, Now: func() time.Time { return testTime },
		Health: sampleHealth, Clock: sampleClock, Status: sampleStatus, Token: testToken, Retention: goldenRetention{},
		Rooms: fakeRooms{"room-1": true, "room-2": false}}
	idle := full
	idle.Health, idle.Clock = nil, nil
	idle.Status = func() Sources { return Sources{Docks: []api.Dock{}, Rooms: []api.Room{}} }
	bare := Config{Station: "st01", Version: "v1.0.0-test"}
	auth := map[string]string{"Authorization": "Bearer " + wangToken, ActorHeader: "wang.li"}
	for _, tc := range []struct {
		name string
		cfg  Config
		cat  Catalog // nil: goldenCatalog
		call call
		code int
	}{
		{"status", full, nil, call{method: "GET", path: "/api/v1/status"}, 200},
		{"status_idle", idle, nil, call{method: "GET", path: "/api/v1/status"}, 200},
		{"status_bare", bare, nil, call{method: "GET", path: "/api/v1/status"}, 200},
		{"status_empty", bare, fakeCatalog{}, call{method: "GET", path: "/api/v1/status"}, 200},
		{"recordings", full, nil, call{method: "GET", path: "/api/v1/recordings"}, 200},
		{"recordings_truncated", full, nil, call{method: "GET", path: "/api/v1/recordings?limit=1"}, 200},
		{"recordings_none", full, nil, call{method: "GET", path: "/api/v1/recordings?officer=nobody"}, 200},
		{"recording", full, nil, call{method: "GET", path: "/api/v1/recordings/1"}, 200},
		{"recording_missing", full, nil, call{method: "GET", path: "/api/v1/recordings/9"}, 404},
		{"recordings_next", full, nil, call{method: "GET", path: "/api/v1/recordings?limit=1&cursor=aQAAAAAAAAAB"}, 200},
		{"bad_filter", full, nil, call{method: "GET", path: "/api/v1/recordings?state=lost"}, 400},
		{"bad_flag", full, nil, call{method: "GET", path: "/api/v1/recordings?flag=unregisterd"}, 400},
		{"no_route", full, nil, call{method: "GET", path: "/api/v1/nope"}, 404},
		{"note", full, nil, call{method: "POST", path: "/api/v1/recordings/1/notes", body: `{"text":"reviewed"}`, header: auth}, 201},
		{"note_station", full, nil, call{method: "POST", path: "/api/v1/notes", body: `{"text":"daily check"}`, header: auth}, 201},
		{"room", full, nil, call{method: "GET", path: "/api/v1/rooms/room-1"}, 200},
		{"room_empty", full, nil, call{method: "GET", path: "/api/v1/rooms/room-9"}, 200},
		{"session_start", full, nil, call{method: "POST", path: "/api/v1/rooms/room-2/sessions", header: auth,
			body: `{"case":"A-2","subject":"P-78","officers":["012345"],"note":"second"}`}, 201},
		{"session_stop", full, nil, call{method: "POST", path: "/api/v1/rooms/room-1/sessions/stop", header: auth}, 200},
		{"hold", full, nil, call{method: "POST", path: "/api/v1/holds", header: auth,
			body: `{"reason":"evidence","why":"case A-1","case":"A-1","ids":[1]}`}, 200},
		{"hold_pending", full, nil, call{method: "POST", path: "/api/v1/cases/A-1/links", header: auth,
			body: `{"why":"case A-1","officer":"012345","from":"2026-11-21","to":"2026-11-22"}`}, 200},
		{"release", full, nil, call{method: "POST", path: "/api/v1/recordings/1/release", header: auth,
			body: `{"reason":"important-flag","why":"reviewed"}`}, 200},
		{"release_permanent", full, nil, call{method: "POST", path: "/api/v1/recordings/1/release", header: auth,
			body: `{"reason":"evidence","why":"case closed"}`}, 202},
		{"restore", full, nil, call{method: "POST", path: "/api/v1/recordings/1/restore", header: auth, body: `{"why":"mistake"}`}, 202},
		{"request_release", full, nil, call{method: "POST", path: "/api/v1/requests", header: auth,
			body: `{"kind":"release","ids":[1],"reason":"evidence","case":"A-1","why":"case closed"}`}, 202},
		{"request_export", full, nil, call{method: "POST", path: "/api/v1/requests", header: auth,
			body: `{"kind":"export","case":"A-1","why":"court order 17"}`}, 202},
		{"request_bad", full, nil, call{method: "POST", path: "/api/v1/requests", header: auth,
			body: `{"kind":"release","ids":[1],"reason":"important-flag","why":"x"}`}, 400},
		{"requests", full, nil, call{method: "GET", path: "/api/v1/requests"}, 200},
		{"request", full, nil, call{method: "GET", path: "/api/v1/requests/3"}, 200},
		{"request_missing", full, nil, call{method: "GET", path: "/api/v1/requests/9"}, 404},
		{"request_approve", full, nil, call{method: "POST", path: "/api/v1/requests/3/approve", body: `{"why":"agreed"}`,
			header: map[string]string{"Authorization": "Bearer " + sunToken}}, 200},
		{"request_reject", full, nil, call{method: "POST", path: "/api/v1/requests/3/reject", body: `{"why":"case still open"}`,
			header: map[string]string{"Authorization": "Bearer " + sunToken}}, 200},
		{"request_self_approve", full, nil, call{method: "POST", path: "/api/v1/requests/3/approve", body: `{"why":"mine"}`, header: auth}, 403},
		{"operator_approve", full, nil, call{method: "POST", path: "/api/v1/requests/3/approve", body: `{"why":"agreed"}`,
			header: map[string]string{"Authorization": "Bearer " + liToken}}, 403},
		{"case", full, nil, call{method: "GET", path: "/api/v1/cases/A-1"}, 200},
		{"plan", full, nil, call{method: "GET", path: "/api/v1/retention/plan?at=2026-11-21"}, 200},
		{"report", full, nil, call{method: "GET", path: "/api/v1/report?day=2026-11-21"}, 200},
		{"audit", full, nil, call{method: "GET", path: "/api/v1/audit/verify"}, 200},
		{"unauthenticated", full, nil, call{method: "GET", path: "/api/v1/recordings", header: map[string]string{"Authorization": "Bearer nobody:guess"}}, 401},
		{"viewer_note", full, nil, call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}`, header: map[string]string{"Authorization": "Bearer " + zhaoToken}}, 403},
		{"operator_release", full, nil, call{method: "POST", path: "/api/v1/recordings/1/release", header: map[string]string{"Authorization": "Bearer " + liToken},
			body: `{"reason":"important-flag","why":"reviewed"}`}, 403},
		{"forged_actor", full, nil, call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}`,
			header: map[string]string{"Authorization": "Bearer " + liToken, ActorHeader: "wang.li"}}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat := tc.cat
			if cat == nil {
				cat = goldenCatalog{}
			}
			srv, _ := newTestServer(t, tc.cfg, cat)
			ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
			defer ts.Close()
			code, _, body := tc.call.do(t, ts.URL)
			if code != tc.code {
				t.Errorf("%s %s: %d, want %d: %s", tc.call.method, tc.call.path, code, tc.code, body)
			}
			golden.Check(t, filepath.Join("testdata", "api", tc.name+".json"), []byte(body), *update)
		})
	}
}
