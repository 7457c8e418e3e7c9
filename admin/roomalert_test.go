package admin

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"custodian/admin/api"
	"custodian/hardware/disk"
)

// A room that has not recorded for longer than its alert_after is a
// warning with the reason; before that, or while it records, nothing. A
// room with a session that does not record stays critical.
func TestRoomNotRecordingAlert(t *testing.T) {
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	rooms := []api.Room{
		{ID: "r-auth", NotRecordingSince: now.Add(-90 * time.Second), NotRecordingReason: "auth refused", AlertAfter: time.Minute,
			LastError: "describe: bad status code: 401 (Unauthorized)"},
		{ID: "r-fresh", NotRecordingSince: now.Add(-59 * time.Second), NotRecordingReason: "unreachable", AlertAfter: time.Minute},
		{ID: "r-short", NotRecordingSince: now.Add(-10 * time.Second), NotRecordingReason: "no media", AlertAfter: 5 * time.Second},
		{ID: "r-default", NotRecordingSince: now.Add(-2 * time.Hour), NotRecordingReason: "unreachable"}, // alert_after 0: the default minute
		{ID: "r-ok", Connected: true, Segment: "r-ok_20261121T075000Z.mp4", AlertAfter: time.Minute},
	}
	srv, _ := newTestServer(t, Config{Station: "st01", Location: time.UTC, Now: func() time.Time { return now },
		Status: func() Sources { return Sources{Rooms: rooms} }}, openCatalog(t))
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()
	st, body := getStatus(t, ts.URL)
	want := []api.Alert{
		{Level: disk.LevelWarning, Text: "Room r-auth has not recorded for 1 min 30 s: auth refused."},
		{Level: disk.LevelWarning, Text: "Room r-short has not recorded for 10 s: no media."},
		{Level: disk.LevelWarning, Text: "Room r-default has not recorded for 2 h 00 min: unreachable."},
	}
	if !slices.Equal(st.Alerts, want) || st.Level != disk.LevelWarning {
		t.Fatalf("alerts %+v level %s, want %+v, warning\n%s", st.Alerts, st.Level, want, body)
	}
	if len(st.Rooms) != 5 || st.Rooms[0].NotRecordingReason != "auth refused" || !st.Rooms[0].NotRecordingSince.Equal(now.Add(-90*time.Second)) {
		t.Errorf("status rooms %+v", st.Rooms)
	}
	_, page := getPage(t, ts.URL+"/")
	for _, w := range []string{"Room r-auth has not recorded for 1 min 30 s: auth refused.", "not recording: auth refused"} {
		if !strings.Contains(page, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}
