package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/admin/api"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

type fakeRooms map[string]bool

func (f fakeRooms) RoomConnected(id string) (bool, bool) {
	c, ok := f[id]
	return ok, c
}

func (fakeRooms) CutSegment(string, time.Time) {}

func TestRoomSessionsAPI(t *testing.T) {
	cat := catalogtest.Open(t, catalog.Options{})
	srv := New(Config{Rooms: fakeRooms{"up": true, "down": false}, Location: time.UTC, Users: testUsers()}, cat, prometheus.NewRegistry(),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := srv.Handler()
	do := func(method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+liToken)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	start := `{"case":"A-2026-001","subject":"P-77","officers":["012345","054321"],"note":"room 1"}`
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"start", "POST", "/api/v1/rooms/up/sessions", start, 201, `"case": "A-2026-001"`},
		{"start twice", "POST", "/api/v1/rooms/up/sessions", start, 409, "already has an open session"},
		{"feed down warns", "POST", "/api/v1/rooms/down/sessions", start, 201, "DOWN"},
		{"unknown room", "POST", "/api/v1/rooms/nope/sessions", start, 404, "not configured"},
		{"bad case", "POST", "/api/v1/rooms/up/sessions", `{"case":"a/b","subject":"s","officers":["1"]}`, 400, "case"},
		{"unknown field", "POST", "/api/v1/rooms/up/sessions", `{"case":"a","subject":"s","officers":["1"],"x":1}`, 400, "unknown field"},
		{"no officer", "POST", "/api/v1/rooms/down/sessions", `{"case":"a","subject":"s"}`, 400, "officers"},
		{"stop", "POST", "/api/v1/rooms/up/sessions/stop", "", 200, `"ended_at"`},
		{"stop again", "POST", "/api/v1/rooms/up/sessions/stop", "", 409, "no open session"},
		{"get", "GET", "/api/v1/rooms/up", "", 200, `"connected": true`},
		{"get bad filter", "GET", "/api/v1/rooms/up?frm=1", "", 400, "unknown parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.contains) {
				t.Errorf("%s %s: %d %s; want %d containing %q", tc.method, tc.path, code, body, tc.code, tc.contains)
			}
		})
	}
	_, body := do("GET", "/api/v1/rooms/up", "")
	var resp api.RoomResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Sessions) != 1 || resp.Sessions[0].Open() || len(resp.Sessions[0].Officers) != 2 {
		t.Errorf("sessions %+v", resp.Sessions)
	}
	if code, _ := do("GET", "/api/v1/rooms/up", ""); code != http.StatusOK {
		t.Error(code)
	}
}
