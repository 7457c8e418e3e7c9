package main

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/admin"
	"custodian/hardware/clock"
	"custodian/hardware/disk"
	"custodian/ingest/dock"
	"custodian/ingest/room"
	"custodian/internal/golden"
	"custodian/retention"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/cli")

// goldenNow is the clock of the CLI golden test: catalog, retention and
// admin all read it, so every time in the output is fixed.
var goldenNow = time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)

// testRooms answers admin.Rooms: room-1 is recording, room-2's feed is down.
type testRooms map[string]bool

func (r testRooms) RoomConnected(id string) (bool, bool) {
	c, ok := r[id]
	return ok, c
}

func (testRooms) CutSegment(string, time.Time) {}

// goldenStation is a catalog with a camera's recordings, a room segment,
// a session and a gap, served by a real admin API with real retention.
type goldenStation struct {
	dir    string
	config string
	cat    *catalog.Catalog
	stop   func()
}

func newGoldenStation(t *testing.T) *goldenStation {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(cliToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The commands authenticate as wang.li with a token file of their own.
	userToken := filepath.Join(dir, "wang.li.token")
	if err := os.WriteFile(userToken, []byte(cliUserToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenFileEnv, userToken)
	s := &goldenStation{dir: dir, config: filepath.Join(dir, "custodian.yaml")}
	y := "station: st01\ntimezone: Asia/Shanghai\ndata_dir: " + filepath.Join(dir, "data") +
		"\nadmin: {listen: \"" + ln.Addr().String() + "\", token_file: \"" + tokenFile + "\"}\n" +
		"rooms:\n  - {id: room-1, url: rtsp://cam1/live}\n  - {id: room-2, url: rtsp://cam2/live}\n" +
		"devices:\n  - {serial: J0123456, officer: \"012345\"}\n  - {serial: J0999999, officer: \"054321\"}\n"
	if err := os.WriteFile(s.config, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(s.config)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return goldenNow }
	if s.cat, err = catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	stage, err := staging.Open(filepath.Join(cfg.DataDir, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	populateGolden(t, s.cat)
	log := slog.New(slog.DiscardHandler)
	keeper := retention.New(retention.Config{Policy: cfg.RetentionPolicy(), Rooms: []string{"room-1", "room-2"}, Devices: cfg.DeviceTable(), Now: now},
		s.cat, stage, nil, log, nil)
	srv := admin.New(admin.Config{Station: cfg.Station, Version: "test", Location: cfg.Location(), Now: now, Token: cliToken, Users: cliUsers(t),
		Retention: retentionAPI{keeper, s.cat, nil, "st01"}, Rooms: testRooms{"room-1": true, "room-2": false},
		Health: func() disk.Report {
			return disk.Report{Time: goldenNow, Level: disk.LevelOK, Volumes: []disk.VolumeHealth{{Role: "staging", Level: disk.LevelOK,
				TotalBytes: 100 << 30, FreeBytes: 60 << 30, Device: "sdb1", SMART: disk.SMART{Note: "smartctl not installed"}}}}
		},
		Clock: func() clock.State {
			return clock.State{Time: goldenNow, Sync: clock.Sync{Known: true, Synchronised: true, MaxError: 20 * time.Millisecond}, Trusted: true}
		},
		Status: func() admin.Sources {
			return apiSources([]dock.Status{{ID: "dock-a", Path: "/srv/docks/a", Slots: []dock.SlotStatus{{Slot: "J0123456",
				Device: "J0123456", DockedSince: goldenNow.Add(-time.Hour), PendingFiles: 1, DoneFiles: 2, LastOffload: goldenNow.Add(-time.Minute)}}},
				{ID: "dock-b", Path: "/srv/docks/b", Paused: true}},
				[]room.Status{{ID: "room-1", Connected: true, Since: goldenNow.Add(-2 * time.Hour), Segment: "room-1_20261121T082000Z.mp4", AlertAfter: time.Minute},
					{ID: "room-2", NotRecordingSince: goldenNow.Add(-90 * time.Second), NotRecordingReason: room.ReasonAuth, AlertAfter: time.Minute,
						LastError: "describe: bad status code: 401 (Unauthorized)", Reconnects: 12}}, staging.ReconcileReport{})
		},
	}, s.cat, prometheus.NewRegistry(), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	s.stop = func() {
		cancel()
		<-done
		s.cat.Close()
	}
	return s
}

func populateGolden(t *testing.T, cat *catalog.Catalog) {
	t.Helper()
	add := func(r catalog.Recording) {
		if _, _, err := cat.Add(r, catalog.Event{Type: catalog.EventIngested}); err != nil {
			t.Fatal(err)
		}
	}
	add(catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0123456", Officer: "012345",
		Name: "J0123456_012345_20261121073015_0001.MP4", StartedAt: goldenNow.Add(-time.Hour), ReceivedAt: goldenNow,
		Size: 1 << 20, SHA256: strings.Repeat("a", 64), State: catalog.StateVerified, Important: true, Flags: []string{catalog.FlagClockSuspect}})
	add(catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0123456",
		Name: "J0123456_012345_20261121074015_0002.MP4", StartedAt: goldenNow.Add(-50 * time.Minute), ReceivedAt: goldenNow,
		Size: 2 << 20, SHA256: strings.Repeat("b", 64), State: catalog.StateStaged,
		CameraClockOffset: 2 * time.Minute, CameraClockBasis: catalog.ClockAhead})
	s, err := cat.StartSession(catalog.Session{Room: "room-1", Case: "A-1", Subject: "P-77", Officers: []string{"012345", "054321"},
		StartedAt: goldenNow.Add(-40 * time.Minute), StartedBy: "wang.li"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.StopSession(s.Room, goldenNow.Add(-20*time.Minute), "wang.li"); err != nil {
		t.Fatal(err)
	}
	add(catalog.Recording{Station: "st01", Source: catalog.SourceRoom, SourceID: "room-1", Name: "room-1_20261121T075000Z.mp4",
		StartedAt: goldenNow.Add(-40 * time.Minute), EndedAt: goldenNow.Add(-30 * time.Minute), ReceivedAt: goldenNow,
		Size: 4096, SHA256: strings.Repeat("c", 64), State: catalog.StateVerified, Codecs: []string{"h264", "aac"},
		Case: "A-1", Subject: "P-77", Officers: []string{"012345", "054321"}, Sessions: []uint64{s.ID}})
	if err := cat.AddGap(catalog.Gap{Room: "room-1", Start: goldenNow.Add(-30 * time.Minute), End: goldenNow.Add(-29 * time.Minute),
		Reason: catalog.GapDisconnect, Detail: "EOF"}); err != nil {
		t.Fatal(err)
	}
}

// TestCLIGolden pins what each subcommand prints, talking to the daemon
// and, once it is stopped, reading the catalog itself.
func TestCLIGolden(t *testing.T) {
	s := newGoldenStation(t)
	stopped := false
	defer func() {
		if !stopped {
			s.stop()
		}
	}()
	c := []string{"--config", s.config}
	by := []string{"--by", "wang.li"}
	second := filepath.Join(s.dir, "admin-token") // the shared token: a second supervisor
	// Flags stop at the first argument, so the config goes before tail.
	steps := []struct {
		name       string
		args, tail []string
	}{
		{"status", []string{"status"}, nil},
		{"status_json", []string{"status", "--json"}, nil},
		{"ls", []string{"ls"}, nil},
		{"ls_json", []string{"ls", "--json"}, nil},
		{"ls_truncated", []string{"ls", "--limit", "1"}, nil},
		{"ls_room", []string{"ls", "--room", "room-1"}, nil},
		{"ls_room_json", []string{"ls", "--room", "room-1", "--json"}, nil},
		{"hold", append([]string{"hold", "--id", "1", "--reason", "evidence", "--why", "case A-1", "--case", "A-1"}, by...), nil},
		{"hold_json", append([]string{"hold", "--officer", "012345", "--from", "2026-11-21", "--to", "2026-11-22",
			"--reason", "obstruction", "--why", "complaint", "--json"}, by...), nil},
		{"case_show", []string{"case", "show"}, []string{"A-1"}},
		{"case_show_json", []string{"case", "show", "--json"}, []string{"A-1"}},
		{"release", append([]string{"release", "--id", "1", "--reason", "obstruction", "--why", "withdrawn"}, by...), nil},
		{"release_json", append([]string{"release", "--id", "1", "--reason", "evidence", "--why", "case closed", "--json"}, by...), nil},
		{"status_approvals", []string{"status"}, nil},
		{"request_list", []string{"request", "list"}, nil},
		{"request_approve_self", append([]string{"request", "approve", "1", "--why", "mine"}, by...), nil},
		{"request_approve", []string{"request", "approve", "1", "--why", "agreed", "--token-file", second}, nil},
		{"request_reject_json", []string{"request", "reject", "2", "--why", "case still open", "--json", "--token-file", second}, nil},
		{"request_export", append([]string{"request", "export", "--case", "A-1", "--why", "court order 17"}, by...), nil},
		{"request_list_json", []string{"request", "list", "--json"}, nil},
		{"request_show", []string{"request", "show", "2"}, nil},
		{"retention_plan", []string{"retention", "plan", "--at", "2027-06-01"}, nil},
		{"retention_plan_json", []string{"retention", "plan", "--at", "2027-06-01", "--json"}, nil},
		{"report", []string{"report", "--day", "2026-11-21"}, nil},
		{"interview_start", append([]string{"interview", "start", "--room", "room-2", "--case", "A-2", "--subject", "P-78",
			"--officer", "012345"}, by...), nil},
		{"interview_stop_json", append([]string{"interview", "stop", "--room", "room-2", "--json"}, by...), nil},
		{"audit", []string{"audit", "verify"}, nil},
		{"audit_json", []string{"audit", "verify", "--json"}, nil},
		{"verify_local", []string{"verify", "--local"}, nil},
	}
	for _, st := range steps {
		runGolden(t, s.dir, st.name, slices.Concat(st.args, c, st.tail))
	}
	s.stop()
	stopped = true
	local := slices.Concat(steps[2:7], steps[len(steps)-1:])
	for _, st := range local { // the catalog read by the CLI itself
		runGolden(t, s.dir, st.name+"_local", slices.Concat(st.args, c, st.tail))
	}
}

// runGolden runs the CLI and compares what it prints, with dir written $DIR.
func runGolden(t *testing.T, dir, name string, args []string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, &out, &errOut)
	got := out.String()
	if errOut.Len() > 0 {
		got += "--- stderr\n" + errOut.String()
	}
	if err != nil {
		got += "--- error\n" + err.Error() + "\n"
	}
	got = strings.ReplaceAll(got, dir, "$DIR")
	golden.Check(t, filepath.Join("testdata", "cli", name+".txt"), []byte(got), *update)
}
