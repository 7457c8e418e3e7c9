package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/admin/api"
	"custodian/hardware/disk"
	"custodian/storage/catalog"

	"custodian/internal/testenv"
)

// hostile is an untrusted string that must be shown as text, never run.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

func populate(t *testing.T, cat *catalog.Catalog) {
	t.Helper()
	for i, st := range []catalog.State{catalog.StateVerified, catalog.StateVerified, catalog.StateStaged, catalog.StateArchived, catalog.StateMissing} {
		sha := strings.Repeat(string(rune('a'+i)), 64)
		_, _, err := cat.Add(catalog.Recording{
			Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0123456", Officer: "012345",
			Name: "J0123456_012345_20261121083015_000" + string(rune('1'+i)) + ".MP4", StartedAt: testTime, ReceivedAt: testTime,
			Size: 1 << 30, SHA256: sha, State: st,
		}, catalog.Event{Type: catalog.EventIngested, Detail: "dock dock-a"})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.Append(catalog.Event{Type: "note", Actor: "wang.li", Detail: "checked by supervisor " + hostile}); err != nil {
		t.Fatal(err)
	}
}

func pageConfig() Config {
	docked := testTime.Add(-25 * time.Minute)
	return Config{
		Station: "st01", Version: "v1.0.0-test", Location: time.UTC,
		Now:    func() time.Time { return testTime },
		Health: sampleHealth,
		Clock:  unsynchronised,
		Status: func() Sources {
			return Sources{
				Docks: []api.Dock{
					{ID: "dock-a", Path: "/srv/docks/a", LastScan: testTime.Add(-5 * time.Second), Slots: []api.Slot{
						{Slot: "J0123456", Device: "J0123456", State: "offloading", ETA: 3 * time.Minute, DockedSince: docked, PendingFiles: 3, PendingBytes: 3 << 30, DoneFiles: 9, DoneBytes: 9 << 30, LastOffload: testTime.Add(-20 * time.Second),
							ClockOffset: -60*24*time.Hour - 5*time.Minute, ClockBasis: catalog.ClockStale, ClockSuspect: true},
						{Slot: "camera " + hostile, DockedSince: docked, LastError: "read: input/output error", ClockBasis: catalog.ClockConsistent},
						{Slot: "X9999999", Device: "X9999999", State: "done", DockedSince: docked, DoneFiles: 4, DoneBytes: 4 << 20,
							Left: map[string]int{"symlink": 2, "too_deep": 1}, Unregistered: "X9999999", ClockBasis: catalog.ClockConsistent},
					}},
					{ID: "dock-b", Path: "/srv/docks/b", LastScan: testTime.Add(-8 * time.Second)},
				},
				Rooms: []api.Room{
					{ID: "room-1", Connected: true, Since: testTime.Add(-time.Hour), Segment: "room-1_20261121T073000Z.mp4"},
					{ID: "room-2", LastError: "dial tcp 10.0.0.9:554: connection refused"},
				},
			}
		},
	}
}

func getPage(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// getStatus fetches GET /api/v1/status from the server at base, decoded,
// and its body for messages.
func getStatus(t *testing.T, base string) (api.Status, string) {
	t.Helper()
	_, body := getPage(t, base+"/api/v1/status")
	var st api.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return st, body
}

func TestStatusPage(t *testing.T) {
	cat := openCatalog(t)
	populate(t, cat)
	srv, _ := newTestServer(t, pageConfig(), cat)
	daemonMetrics(t, srv)
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()

	res, body := getPage(t, ts.URL+"/")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
		t.Errorf("untrusted markup reached the page unescaped")
	}
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("the hostile string is not shown escaped")
	}
	// Storage and clock first, then docks, rooms, backlog, alerts, custody events.
	last := -1
	for _, id := range []string{`id="storage"`, `id="clock"`, `id="docks"`, `id="rooms"`, `id="backlog"`, `id="alerts"`, `id="events"`} {
		i := strings.Index(body, id)
		if i < last {
			t.Errorf("section %s out of order", id)
		}
		last = i
	}
	for _, want := range []string{
		`<meta http-equiv="refresh" content="10">`, `name="viewport"`, `href="/static/status.css"`,
		"1.0 TiB free of 8.0 TiB", "passed", "J0123456", "9 done (9.0 GiB), 3 to go (3.0 GiB)", "25 min ago",
		"Room room-2 has a session but is not recording.", "1 recording is missing from staging",
		"● REC", "in session", "dial tcp 10.0.0.9:554: connection refused",
		"staging: space free 12.5% (warning below 15%)", "wang.li", "No cameras docked.",
		"unreachable", "3 recordings (3.0 GiB) waiting for upload; the oldest for 7 h 05 min.",
		"The archive cannot be reached; recordings wait in staging.",
		"The oldest recording waiting for upload has waited 7 h 05 min.",
		"not synchronised", "error up to 16 s", "steps since start: 0 back, 0 forward",
		"The station clock is not trusted: the kernel reports the clock unsynchronised",
		"Dock dock-a, camera J0123456: clock 60 days slow, or the camera was not docked for 60 days",
		`<span class="problem-text">60 days slow, or the camera was not docked for 60 days</span>`, "no error seen",
		"9 done (9.0 GiB), 3 to go (3.0 GiB), about 3 min left", "done, safe to undock", "4 offloaded (4.0 MiB)",
		"Dock dock-a, camera X9999999: 3 entries left on the camera: 2 link (never followed), 1 folder deeper than max_depth.",
		"Dock dock-a, camera X9999999: device X9999999 is not in the devices table",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, ext := range []string{"http://", "https://", "//cdn", "@import"} {
		if strings.Contains(strings.ReplaceAll(body, ts.URL, ""), ext) {
			t.Errorf("page refers to %q: it must work offline", ext)
		}
	}
	res, css := getPage(t, ts.URL+"/static/status.css")
	if res.StatusCode != http.StatusOK || !strings.Contains(css, "--crit") || strings.Contains(css, "url(") {
		t.Errorf("stylesheet: %s, %d bytes", res.Status, len(css))
	}
}

// TestStatusPageEmpty is a fresh station: nothing configured, nothing sampled.
func TestStatusPageEmpty(t *testing.T) {
	srv, _ := newTestServer(t, Config{Station: "st01"}, openCatalog(t))
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()
	res, body := getPage(t, ts.URL+"/")
	if res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	for _, want := range []string{"Storage health has not been sampled yet.", "local-only mode: no archive configured", "No docking stations configured.",
		"No interview rooms configured.", "No alerts.", "No custody events yet."} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestStatusPageChromium renders the page in a real headless browser, keeps
// screenshots under test-artifacts/ and checks the DOM it built.
func TestStatusPageChromium(t *testing.T) {
	chromium := testenv.Tool(t, "chromium")
	cat := openCatalog(t)
	populate(t, cat)
	srv, _ := newTestServer(t, pageConfig(), cat)
	daemonMetrics(t, srv)
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()

	artifacts, err := filepath.Abs(filepath.Join("..", "test-artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
		cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
		var stdout strings.Builder
		cmd.Stdout = &stdout
		stderr, _ := os.CreateTemp(t.TempDir(), "stderr")
		cmd.Stderr = stderr
		if err := cmd.Run(); err != nil {
			b, _ := os.ReadFile(stderr.Name())
			t.Fatalf("chromium %v: %v\n%s", args, err, b)
		}
		return stdout.String()
	}
	dom := run("--dump-dom", ts.URL+"/")
	for _, want := range []string{`id="storage"`, `id="clock"`, `id="docks"`, `id="rooms"`, `id="backlog"`, `id="alerts"`, `id="events"`,
		"dock-a", "room-1", "&lt;script&gt;"} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script") {
		t.Errorf("the browser built a script element from untrusted text")
	}
	for _, shot := range []struct{ name, size string }{
		{"status-page.png", "1280,1850"},
		{"status-page-phone.png", "390,2600"},
	} {
		p := filepath.Join(artifacts, shot.name)
		os.Remove(p)
		run("--screenshot="+p, "--window-size="+shot.size, ts.URL+"/")
		fi, err := os.Stat(p)
		if err != nil || fi.Size() < 10<<10 {
			t.Fatalf("screenshot %s: %v", p, err)
		}
		t.Logf("screenshot: %s", p)
	}
	_ = disk.LevelOK
}

// daemonMetrics registers what the uploader reports, an archive that has
// been unreachable for hours, and an interview session in both rooms.
func daemonMetrics(t *testing.T, srv *Server) {
	t.Helper()
	for _, room := range []string{"room-1", "room-2"} {
		// What the room package registers while a session is open.
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "custodian_room_session_active",
			Help: "1 while an interview session is open in the room, else 0.", ConstLabels: prometheus.Labels{"room": room}})
		g.Set(1)
		srv.reg.MustRegister(g)
	}
	for name, v := range map[string]float64{
		"custodian_archive_reachable":                     0,
		"custodian_archive_backlog_recordings":            3,
		"custodian_archive_backlog_bytes":                 3 << 30,
		"custodian_archive_oldest_unarchived_age_seconds": (7*60 + 5) * 60,
	} {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: name})
		g.Set(v)
		srv.reg.MustRegister(g)
	}
}

// A part of the daemon that is down shows in the status JSON and as an
// alert: a room that cannot record is critical, anything else a warning.
func TestFailedPartsAlert(t *testing.T) {
	since := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	srv, _ := newTestServer(t, Config{Station: "st01", Status: func() Sources {
		return Sources{Failures: []api.Failure{
			{Name: "room r1", Kind: "room", Error: "mkdir /data/rooms/r1/open: not a directory", Since: since, Restarts: 2},
			{Name: "uploader", Kind: "uploader", Error: "boom", Since: since},
		}}
	}}, openCatalog(t))
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()
	st, body := getStatus(t, ts.URL)
	if len(st.Failures) != 2 || st.Failures[0].Restarts != 2 || st.Level != disk.LevelCritical {
		t.Fatalf("status %s", body)
	}
	want := []api.Alert{
		{Level: disk.LevelCritical, Text: "Room r1 cannot record: mkdir /data/rooms/r1/open: not a directory"},
		{Level: disk.LevelWarning, Text: "The uploader failed and is being restarted: boom"},
	}
	if !slices.Equal(st.Alerts, want) {
		t.Fatalf("alerts %+v, want %+v", st.Alerts, want)
	}
	if _, page := getPage(t, ts.URL+"/"); !strings.Contains(page, "Room r1 cannot record") {
		t.Error("the page shows no alert for room r1")
	}
}

// A background check under way is on the page and in the status, with how
// far it got: the station answers meanwhile.
func TestChecksInProgressShown(t *testing.T) {
	started := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	srv, _ := newTestServer(t, Config{Station: "st01", Location: time.UTC, Status: func() Sources {
		return Sources{Checks: []api.Check{{Name: "custody trail against the archive", Started: started,
			Done: 1228800, Total: 4855863, Unit: "events"}}}
	}}, openCatalog(t))
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()
	st, body := getStatus(t, ts.URL)
	if len(st.Checks) != 1 || st.Checks[0].Done != 1228800 || !st.Checks[0].Started.Equal(started) {
		t.Fatalf("status %s", body)
	}
	_, page := getPage(t, ts.URL+"/")
	if want := "custody trail against the archive: 1228800 of 4855863 events (25.3%), since 2026-11-21 08:00:00"; !strings.Contains(page, want) {
		t.Errorf("the page lacks %q", want)
	}
}

// The retention rule in force, and since when, is on the page and in the
// status: a change of it is a custody event, and admins see which applies.
func TestRetentionRuleShown(t *testing.T) {
	since := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	rule := &api.Rule{Rule: "standard=6mo local_keep=7d grace=7d min_free=0 timezone=Asia/Shanghai local-only", Since: since}
	srv, _ := newTestServer(t, Config{Station: "st01", Location: time.UTC, Rule: rule}, openCatalog(t))
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()
	_, body := getPage(t, ts.URL+"/api/v1/status")
	var st api.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Retention == nil || *st.Retention != *rule {
		t.Fatalf("status retention %+v, want %+v", st.Retention, rule)
	}
	_, page := getPage(t, ts.URL+"/")
	if !strings.Contains(page, "standard=6mo local_keep=7d") || !strings.Contains(page, "in force since") {
		t.Error("the page does not show the retention rule and since when")
	}
}
