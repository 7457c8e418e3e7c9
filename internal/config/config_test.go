package config

import (
	"strings"
	"testing"

	"custodian/ingest/dock"
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
		{"max_clock_offset", "station: s\ndata_dir: " + data + "\ndocks: [{id: d, path: " + dock + ", max_clock_offset: 2s}]",
			"docks[0].max_clock_offset: 2s is shorter than 30s"},
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
	dir := t.TempDir()
	cfg, err := Parse([]byte("station: st01\ndata_dir: " + t.TempDir() + "\ndocks: [{id: a, path: " + dir + "}]"))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Docks[0]
	if d.Profile != "gat947" || !*d.DeleteAfterIngest || d.Settle.D() != dock.DefaultSettle ||
		d.ScanInterval.D() != dock.DefaultScanInterval || d.Copies != dock.DefaultCopies ||
		d.MaxClockOffset.D() != dock.DefaultMaxClockOffset {
		t.Fatalf("defaults %+v", d)
	}
	if p := cfg.Profile(d.Profile); p == nil || p.Name() != "gat947" {
		t.Fatalf("profile %q not compiled: %v", d.Profile, p)
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
		"station: st01\ndocks: &d [{id: a, path: /tmp}]\nrooms: *d\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b)
		if err != nil {
			return
		}
		if cfg.Station == "" {
			t.Fatal("accepted a config without a station")
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted, yet invalid: %v", err)
		}
	})
}
