//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDockCameraClockEndToEnd docks a camera set to 2011, one two hours fast
// and one with a right clock docked six hours after recording, in the real
// daemon: the first two are flagged, on the recordings, the status, the
// metrics and the day's report; the third is not.
func TestDockCameraClockEndToEnd(t *testing.T) {
	r := newDockRig(t, "")
	d := start(t, r.config, r.addr)
	cst := time.FixedZone("CST", 8*3600)
	now := time.Now()
	put := func(slot, device string, start time.Time) {
		dir := filepath.Join(r.dock, slot, "DCIM")
		os.MkdirAll(dir, 0o755)
		p := filepath.Join(dir, fmt.Sprintf("%s_100001_%s_0001.MP4", device, start.In(cst).Format("20060102150405")))
		if err := os.WriteFile(p, []byte("footage of "+slot), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, start.Add(5*time.Minute), start.Add(5*time.Minute))
	}
	put("slot1", "J0000001", time.Date(2011, 3, 1, 8, 30, 0, 0, cst))
	put("slot2", "J0000002", now.Add(2*time.Hour))
	put("slot3", "J0000003", now.Add(-6*time.Hour))
	waitFor(t, "the cameras to be emptied", time.Minute, func() bool { return mediaLeft(r.dock) == 0 })

	var st struct {
		Alerts []struct{ Text string } `json:"alerts"`
		Docks  []struct {
			Slots []struct {
				Slot         string        `json:"slot"`
				ClockOffset  time.Duration `json:"clock_offset_ns"`
				ClockBasis   string        `json:"clock_basis"`
				ClockSuspect bool          `json:"clock_suspect"`
			} `json:"slots"`
		} `json:"docks"`
	}
	if err := json.Unmarshal(cli(t, "status", "--json", "--config", r.config), &st); err != nil || len(st.Docks) != 1 {
		t.Fatalf("status: %v %+v", err, st)
	}
	want := map[string]string{"slot1": "stale", "slot2": "ahead", "slot3": "consistent"}
	for _, s := range st.Docks[0].Slots {
		if s.ClockBasis != want[s.Slot] || s.ClockSuspect != (s.Slot != "slot3") {
			t.Errorf("slot %+v", s)
		}
		if s.Slot == "slot2" && (s.ClockOffset < 2*time.Hour || s.ClockOffset > 2*time.Hour+6*time.Minute) {
			t.Errorf("fast camera measured %v, want about 2h05m", s.ClockOffset)
		}
	}
	var alerts []string
	for _, a := range st.Alerts {
		alerts = append(alerts, a.Text)
	}
	for _, w := range []string{"Dock dock-a, camera slot1: clock ", "Dock dock-a, camera slot2: clock at least 2 h 0"} {
		if !slices.ContainsFunc(alerts, func(a string) bool { return strings.HasPrefix(a, w) }) {
			t.Errorf("no alert %q in %q", w, alerts)
		}
	}

	_, metrics := httpGet(t, "http://"+r.addr+"/metrics")
	if !strings.Contains(metrics, `custodian_dock_clock_suspect_total{dock="dock-a"} 2`) ||
		!strings.Contains(metrics, `custodian_dock_camera_clock_offset_seconds{dock="dock-a"} 4.9`) { // 15.7 years in seconds
		t.Errorf("clock metrics wrong:\n%s", grepLines(metrics, "clock"))
	}

	for _, rec := range listRecordings(t, r.config) {
		if slices.Contains(rec.Flags, "clock-offset") != (rec.Device != "J0000003") {
			t.Errorf("%s: flags %v", rec.Name, rec.Flags)
		}
	}
	var rep struct {
		ClockOffsets []struct {
			Device  string `json:"device"`
			Flagged bool   `json:"flagged"`
		} `json:"clock_offsets"`
	}
	out := cli(t, "report", "--json", "--config", r.config, "--day", time.Now().In(cst).Format(time.DateOnly))
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.ClockOffsets) != 2 ||
		rep.ClockOffsets[0].Device != "J0000001" || rep.ClockOffsets[1].Device != "J0000002" || !rep.ClockOffsets[0].Flagged {
		t.Errorf("report clock offsets: %v\n%s", err, out)
	}
	d.stop()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
