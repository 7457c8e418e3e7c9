package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custodian/ingest"
)

func TestConfigReportsEveryProblemWithKeyPaths(t *testing.T) {
	dock := t.TempDir()
	yml := `
station: st01
data_dir: ` + t.TempDir() + `
admin: {listen: 127.0.0.1:9420, lisen: x}
colour: blue
docks:
  - id: dock-a
    path: ` + dock + `
    setle: 5s
  - id: dock-a
    path: /nonexistent/dock
    settle: soon
    profile: acme
  - id: "bad id"
    path: ` + dock + `
    scan_interval: 10mo
devices:
  - {serial: "J0123456", officer: "012345", from: yesterday}
`
	_, err := Parse([]byte(yml))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`admin.lisen: unknown key (line 4); did you mean "listen"?`,
		`colour: unknown key (line 5)`,
		`docks[0].setle: unknown key (line 9); did you mean "settle"?`,
		`docks[1].id: duplicate dock id "dock-a" (also docks[0])`,
		`docks[1].path: /nonexistent/dock: no such file or directory`,
		`docks[1].settle: "soon": want a duration`,
		`docks[1].profile: "acme": unknown profile`,
		`docks[2].id: "bad id": want 1-32 letters`,
		`docks[2].scan_interval: "10mo": months are calendar periods`,
		`devices[0].from: "yesterday": want a date`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 10 {
		t.Errorf("%d problems reported, want 10:\n%v", n, err)
	}
}

func TestConfigRejects(t *testing.T) {
	dock := t.TempDir()
	data := t.TempDir()
	tests := []struct{ name, yml, want string }{
		{"empty", ``, "empty"},
		{"no station", "data_dir: " + data, "station: required"},
		{"dock inside data_dir", "station: s\ndata_dir: " + data + "\ndocks: [{id: d, path: " + data + "}]", "overlaps data_dir"},
		{"dock path is a file", "station: s\ndata_dir: " + data + "\ndocks: [{id: d, path: /etc/hostname}]", "not a directory"},
		{"bad listen", "station: s\nadmin: {listen: nope}", "admin.listen"},
		{"bad zone", "station: s\ntimezone: Mars/Olympus", "timezone"},
		{"wrong type", "station: [a, b]", "cannot unmarshal"},
		{"two documents", "station: a\n---\nstation: b", "more than one"},
		{"copies", "station: s\ndata_dir: " + data + "\ndocks: [{id: d, path: " + dock + ", copies: 99}]", "docks[0].copies"},
		{"profile", "station: s\nprofiles: [{name: x, pattern: '('}]", "profiles: profile \"x\": pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDockDefaults(t *testing.T) {
	dock := t.TempDir()
	cfg, err := Parse([]byte("station: st01\ndata_dir: " + t.TempDir() + "\ndocks: [{id: a, path: " + dock + "}]"))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Docks[0]
	if d.Profile != "gat947" || !*d.DeleteAfterIngest || d.Settle.D() != ingest.DefaultSettle ||
		d.ScanInterval.D() != ingest.DefaultScanInterval || d.Copies != ingest.DefaultCopies {
		t.Fatalf("defaults %+v", d)
	}
}

// The reference config must stay valid and document the real defaults.
func TestReferenceConfig(t *testing.T) {
	b, err := os.ReadFile("../../configs/custodian.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dock := t.TempDir()
	secrets := t.TempDir()
	os.WriteFile(filepath.Join(secrets, "s3-access"), []byte("access\n"), 0o600)
	os.WriteFile(filepath.Join(secrets, "s3-secret"), []byte("secret\n"), 0o600)
	os.MkdirAll(filepath.Join(secrets, "rooms"), 0o700)
	os.WriteFile(filepath.Join(secrets, "rooms", "interview-1.url"), []byte("rtsp://user:pw@127.0.0.1:8554/cam\n"), 0o600)
	text := strings.NewReplacer("/srv/custodian/docks/dock-a", dock, "/etc/custodian", secrets).Replace(string(b))
	cfg, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("reference config invalid:\n%v", err)
	}
	def := Defaults()
	if cfg.DataDir != def.DataDir || cfg.Timezone != def.Timezone || cfg.Admin != def.Admin || cfg.Log != def.Log ||
		cfg.Storage.RequireMarker != def.Storage.RequireMarker || cfg.Storage.FreeWarningPercent != def.Storage.FreeWarningPercent ||
		cfg.Storage.FreeCriticalPercent != def.Storage.FreeCriticalPercent || cfg.Storage.CheckInterval.D() != def.Storage.CheckInterval.D() ||
		cfg.Storage.ScrubInterval.D() != def.Storage.ScrubInterval.D() ||
		cfg.Retention.Standard != def.Retention.Standard || cfg.Retention.LocalKeep.D() != def.Retention.LocalKeep.D() ||
		cfg.Retention.Grace.D() != def.Retention.Grace.D() || cfg.Retention.MinFree != def.Retention.MinFree {
		t.Errorf("top-level values differ from Defaults():\n got %+v\nwant %+v", cfg, def)
	}
	var d DockConfig
	dockDefaults(&d)
	got := cfg.Docks[0]
	if got.Profile != d.Profile || *got.DeleteAfterIngest != *d.DeleteAfterIngest || got.Settle.D() != d.Settle.D() ||
		got.ScanInterval.D() != d.ScanInterval.D() || got.Copies != d.Copies {
		t.Errorf("dock values differ from defaults:\n got %+v\nwant %+v", got, d)
	}
	var a ArchiveConfig
	archiveDefaults(&a)
	if cfg.Archive == nil || cfg.Archive.MaxUploads != a.MaxUploads || cfg.Archive.PartSize != a.PartSize || cfg.Archive.BandwidthLimit != a.BandwidthLimit {
		t.Errorf("archive values differ from defaults:\n got %+v\nwant %+v", cfg.Archive, a)
	}
	var room RoomConfig
	roomDefaults(&room)
	if len(cfg.Rooms) != 1 || cfg.Rooms[0].Transport != room.Transport || cfg.Rooms[0].Segment.D() != room.Segment.D() {
		t.Errorf("room values differ from defaults: %+v", cfg.Rooms)
	}
	if len(cfg.Profiles) != 1 || len(cfg.Devices) != 2 {
		t.Errorf("examples missing: %d profiles, %d devices", len(cfg.Profiles), len(cfg.Devices))
	}
}

func TestQuickstartConfig(t *testing.T) {
	b, err := os.ReadFile("../../configs/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "var/docks/dock-a"), 0o755)
	text := strings.ReplaceAll(string(b), "./var/", dir+"/var/")
	if _, err := Parse([]byte(text)); err != nil {
		t.Fatalf("quickstart config invalid:\n%v", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5s", 5 * time.Second, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"250ms", 250 * time.Millisecond, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"0", 0, true},
		{"", 0, false},
		{"6mo", 0, false},
		{"5", 0, false},
		{"-5s", 0, false},
		{"5x", 0, false},
		{"99999999999s", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"station: st01\n",
		"station: st01\ndocks: [{id: a, path: /nonexistent, settle: 5s}]\n",
		"station: st01\nprofiles: [{name: x, pattern: '^(?P<start>\\d+)$', time_layout: '2006'}]\n",
		"a: &a [*a]\n",
		"station: [\n",
		"devices: [{serial: J1, officer: '1', from: 2026-01-01}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b)
		if err == nil && cfg.Station == "" {
			t.Fatal("accepted a config without a station")
		}
	})
}
