package admin

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/admin/api"
	"custodian/hardware/clock"
	"custodian/hardware/disk"
)

// unsynchronised is what a station without NTP reports.
func unsynchronised() clock.State {
	return clock.State{Time: testTime, Sync: clock.Sync{Known: true, MaxError: 16 * time.Second},
		Reason: "the kernel reports the clock unsynchronised (is chrony, ntpd or systemd-timesyncd running?)"}
}

func TestClockCollector(t *testing.T) {
	tests := []struct {
		name  string
		state clock.State
		want  string
	}{
		{"stepped", sampleClock(), `
# HELP custodian_clock_max_error_seconds The kernel's bound on the station clock's error; absent where the system does not say.
# TYPE custodian_clock_max_error_seconds gauge
custodian_clock_max_error_seconds 0.25
# HELP custodian_clock_steps_total Steps of the station clock against the monotonic clock beyond clock.max_step, by direction (back, forward).
# TYPE custodian_clock_steps_total counter
custodian_clock_steps_total{direction="back"} 1
custodian_clock_steps_total{direction="forward"} 0
# HELP custodian_clock_synchronised 1 when the kernel reports the station clock synchronised by NTP, 0 when not; absent where the system does not say.
# TYPE custodian_clock_synchronised gauge
custodian_clock_synchronised 1
# HELP custodian_clock_trusted 1 when the station clock is trusted; while 0, retention evicts, expires and deletes nothing.
# TYPE custodian_clock_trusted gauge
custodian_clock_trusted 0
`},
		{"system does not say", clock.State{Time: testTime, Trusted: true}, `
# HELP custodian_clock_steps_total Steps of the station clock against the monotonic clock beyond clock.max_step, by direction (back, forward).
# TYPE custodian_clock_steps_total counter
custodian_clock_steps_total{direction="back"} 0
custodian_clock_steps_total{direction="forward"} 0
# HELP custodian_clock_trusted 1 when the station clock is trusted; while 0, retention evicts, expires and deletes nothing.
# TYPE custodian_clock_trusted gauge
custodian_clock_trusted 1
`},
		{"not checked yet", clock.State{}, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClockCollector(func() clock.State { return tc.state })
			if err := testutil.CollectAndCompare(c, strings.NewReader(tc.want)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An untrusted clock is a warning, one that stepped critical; a trusted one
// raises nothing. The status carries the clock either way.
func TestClockStatus(t *testing.T) {
	synced := clock.State{Time: testTime, Sync: clock.Sync{Known: true, Synchronised: true, MaxError: 20 * time.Millisecond}, Trusted: true}
	tests := []struct {
		name   string
		state  clock.State
		level  disk.Level
		alerts []api.Alert
	}{
		{"trusted", synced, disk.LevelOK, nil},
		{"unsynchronised", unsynchronised(), disk.LevelWarning, []api.Alert{{Level: disk.LevelWarning,
			Text: "The station clock is not trusted: the kernel reports the clock unsynchronised (is chrony, ntpd or systemd-timesyncd running?). " +
				"Retention evicts, expires and deletes nothing until it is."}}},
		{"stepped", sampleClock(), disk.LevelCritical, []api.Alert{{Level: disk.LevelCritical,
			Text: "The station clock is not trusted: " + sampleClock().Reason + ". Retention evicts, expires and deletes nothing until it is."}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newTestServer(t, Config{Station: "st01", Clock: func() clock.State { return tc.state }}, openCatalog(t))
			ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
			defer ts.Close()
			st, body := getStatus(t, ts.URL)
			if st.Clock == nil || st.Clock.Trusted != tc.state.Trusted || st.Clock.Reason != tc.state.Reason || st.Level != tc.level {
				t.Fatalf("status %s", body)
			}
			if !slices.Equal(st.Alerts, append([]api.Alert{}, tc.alerts...)) {
				t.Fatalf("alerts %+v, want %+v", st.Alerts, tc.alerts)
			}
			_, page := getPage(t, ts.URL+"/")
			if want := map[bool]string{true: "trusted</span>", false: "not trusted</span>"}[tc.state.Trusted]; !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		})
	}
}
