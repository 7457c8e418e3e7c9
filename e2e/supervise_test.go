//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A room that cannot record (its open/ folder cannot be created) degrades
// that room only: the dock beside it still offloads every camera, and the
// status API and page name the room's error as an alert.
func TestBrokenRoomLeavesDockRunning(t *testing.T) {
	r := newDockRig(t, `rooms:
  - {id: r1, url: "rtsp://127.0.0.1:9/none"}
`)
	// A file where the room's folder should be: mkdir fails even for root.
	os.MkdirAll(filepath.Join(r.data, "rooms"), 0o750)
	if err := os.WriteFile(filepath.Join(r.data, "rooms", "r1"), []byte("not a folder"), 0o640); err != nil {
		t.Fatal(err)
	}
	d := start(t, r.config, r.addr)
	files := dockCameras(t, r.dock, 2, 3, func(i int) int64 { return int64(50_000 * (i + 1)) })
	waitFor(t, "the cameras to be emptied", 2*time.Minute, func() bool { return mediaLeft(r.dock) == 0 })
	waitReleased(t, r.config)
	checkAllIngested(t, r, files, listRecordings(t, r.config))

	var status string
	waitFor(t, "the room's failure in status", 30*time.Second, func() bool {
		_, status = httpGet(t, "http://"+r.addr+"/api/v1/status")
		return strings.Contains(status, `"room r1"`)
	})
	if !strings.Contains(status, "not a directory") {
		t.Errorf("status does not say why room r1 is down:\n%s", status)
	}
	if !strings.Contains(status, `"alerts"`) || !strings.Contains(status, "Room r1 cannot record") {
		t.Errorf("no alert for room r1 in status:\n%s", status)
	}
	if _, page := httpGet(t, "http://"+r.addr+"/"); !strings.Contains(page, "Room r1 cannot record") {
		t.Errorf("status page has no alert for room r1")
	}
	if _, metrics := httpGet(t, "http://"+r.addr+"/metrics"); !strings.Contains(metrics, `custodian_component_down{component="room"} 1`) {
		t.Errorf("metrics do not show the room down")
	}
	d.stop()
}
