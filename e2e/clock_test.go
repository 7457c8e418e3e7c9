//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A camera whose clock runs 60 days slow and one whose clock says 2011 are
// kept six months from the station's receipt in local-only mode: the sweep
// at start marks neither, and the plan marks them only once receipt + 6
// months has passed.
func TestCameraClockCannotShortenRetention(t *testing.T) {
	r := newDockRig(t, "")
	cst := time.FixedZone("CST", 8*3600)
	cam := filepath.Join(r.dock, "cam1", "DCIM")
	os.MkdirAll(cam, 0o755)
	for _, start := range []time.Time{time.Now().In(cst).AddDate(0, 0, -60), time.Date(2011, 3, 1, 8, 0, 0, 0, cst)} {
		name := "J0000001_100001_" + start.Format("20060102150405") + "_0001.MP4"
		p := filepath.Join(cam, name)
		if err := os.WriteFile(p, []byte("footage stamped by a wrong clock "+name), 0o640); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, start.Add(time.Minute), start.Add(time.Minute)) // the camera's clock stamps the mtime too
	}
	d := start(t, r.config, r.addr)
	waitFor(t, "the camera to be emptied", time.Minute, func() bool { return mediaLeft(r.dock) == 0 })
	waitReleased(t, r.config)
	d.stop()
	d = start(t, r.config, r.addr) // a sweep runs at start
	time.Sleep(2 * time.Second)
	recs := listRecordings(t, r.config)
	if len(recs) != 2 {
		t.Fatalf("%d recordings, want 2", len(recs))
	}
	var received time.Time
	for _, rec := range recs {
		if rec.State != "verified" {
			t.Errorf("%s is %s after the first sweep, want verified", rec.Name, rec.State)
		}
		if rec.ReceivedAt.After(received) {
			received = rec.ReceivedAt
		}
	}
	marks := func(at time.Time) int {
		var plan struct {
			Actions []struct {
				Kind string `json:"kind"`
			} `json:"actions"`
		}
		if err := json.Unmarshal(cli(t, "retention", "plan", "--config", r.config, "--at", at.Format(time.RFC3339), "--json"), &plan); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range plan.Actions {
			if a.Kind == "mark-expired" {
				n++
			}
		}
		return n
	}
	sixMonths := received.In(cst).AddDate(0, 6, 0)
	if n := marks(sixMonths.Add(-time.Minute)); n != 0 {
		t.Errorf("plan a minute before receipt + 6 months marks %d recordings", n)
	}
	if n := marks(sixMonths.Add(time.Minute)); n != 2 {
		t.Errorf("plan a minute after receipt + 6 months marks %d recordings, want 2", n)
	}
	d.stop()
}
