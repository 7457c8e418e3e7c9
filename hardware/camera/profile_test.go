package camera

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custodian/internal/text"
)

var shanghai = time.FixedZone("CST", 8*3600)

func mustProfiles(t testing.TB, extra ...ProfileSpec) Profiles {
	t.Helper()
	p, err := NewProfiles(extra)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGAT947(t *testing.T) {
	p := mustProfiles(t)["gat947"]
	at := func(s string) time.Time {
		tm, _ := time.ParseInLocation("20060102150405", s, shanghai)
		return tm
	}
	tests := []struct {
		name string
		want Meta
	}{
		{"J0123456_012345_20261121083015_0001.MP4", Meta{Parsed: true, Device: "J0123456", Officer: "012345", Start: at("20261121083015"), Seq: 1, Ext: "mp4", Kind: "video"}},
		{"J0123456_012345_20261121091500_0002_IMP.MP4", Meta{Parsed: true, Device: "J0123456", Officer: "012345", Start: at("20261121091500"), Seq: 2, Important: true, Ext: "mp4", Kind: "video"}},
		{"J0123456_012345_20261121093000_0003_LOCK.mp4", Meta{Parsed: true, Device: "J0123456", Officer: "012345", Start: at("20261121093000"), Seq: 3, Locked: true, Ext: "mp4", Kind: "video"}},
		{"J0123456_012345_20261121093200_0004.JPG", Meta{Parsed: true, Device: "J0123456", Officer: "012345", Start: at("20261121093200"), Seq: 4, Ext: "jpg", Kind: "photo"}},
		{"J0123456_012345_20261121094000_0005.WAV", Meta{Parsed: true, Device: "J0123456", Officer: "012345", Start: at("20261121094000"), Seq: 5, Ext: "wav", Kind: "audio"}},
		{"j0123456-012345-20261121094000-0006-imp.mov", Meta{Parsed: true, Device: "j0123456", Officer: "012345", Start: at("20261121094000"), Seq: 6, Important: true, Ext: "mov", Kind: "video"}},
		{"J0123456_012345_20261121094000_0007_XYZ.MP4", Meta{Parsed: true, Device: "J0123456", Officer: "012345", Start: at("20261121094000"), Seq: 7, Ext: "mp4", Kind: "video"}},
		// A real-looking name with an impossible date: parsed, time flagged.
		{"J0123456_012345_20261341250000_0008.MP4", Meta{Parsed: true, Device: "J0123456", Officer: "012345", BadTime: true, Seq: 8, Ext: "mp4", Kind: "video"}},
		// Names the profile cannot read: never an error, only unparsed.
		{"VID_0001.MP4", Meta{Ext: "mp4", Kind: "video"}},
		{"执法记录_20261121.mp4", Meta{Ext: "mp4", Kind: "video"}},
		{"../../etc/passwd", Meta{Kind: "other"}},
		{"J0123456_012345_20261121083015_0001.MP4\n", Meta{Kind: "other"}},
		{"", Meta{Kind: "other"}},
		{strings.Repeat("A", 300) + "_012345_20261121083015_0001.MP4", Meta{Ext: "mp4", Kind: "video"}},
		{"bad\xff\xfe.mp4", Meta{Ext: "mp4", Kind: "video"}},
	}
	for _, tc := range tests {
		t.Run(text.Printable(tc.name), func(t *testing.T) {
			got := p.Parse(tc.name, shanghai)
			if !got.Start.Equal(tc.want.Start) {
				t.Errorf("start %v, want %v", got.Start, tc.want.Start)
			}
			got.Start, tc.want.Start = time.Time{}, time.Time{}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSiteProfile(t *testing.T) {
	spec := ProfileSpec{
		Name:       "acme-x1",
		Pattern:    `^(?P<start>\d{8}-\d{6})@(?P<officer>\d{6})(?P<flag>!?)\.(?P<ext>\w+)$`,
		TimeLayout: "20060102-150405",
		Important:  []string{"!"},
		DoneSuffix: ".done",
	}
	p := mustProfiles(t, spec)["acme-x1"]
	m := p.Parse("20261121-083015@012345!.mp4", shanghai)
	if !m.Parsed || m.Officer != "012345" || !m.Important || m.Start.IsZero() || p.DoneSuffix() != ".done" {
		t.Fatalf("%+v", m)
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	_, err := Compile(ProfileSpec{Name: "bad name", Pattern: `(?P<start>\d+)(?P<colour>x)`, DoneSuffix: "a/b"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"name", `unknown group "colour"`, "time_layout: required", "done_suffix"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := NewProfiles([]ProfileSpec{{Name: "gat947", Pattern: "x"}}); err == nil {
		t.Error("a site profile may not shadow a built-in")
	}
}

func TestCheckClock(t *testing.T) {
	recv := time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC)
	start := time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)
	tests := []struct {
		name                 string
		start, mtime, regist time.Time
		suspect              bool
	}{
		{"plausible", start, start.Add(30 * time.Minute), time.Time{}, false},
		{"battery reset 2000", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, time.Time{}, true},
		{"reset 2015, before registration", time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), true},
		{"future", recv.Add(time.Hour), time.Time{}, time.Time{}, true},
		{"far from mtime", start, start.Add(72 * time.Hour), time.Time{}, true},
		{"mtime before start", start, start.Add(-time.Hour), time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckClock(tc.start, tc.mtime, recv, tc.regist) != ""; got != tc.suspect {
				t.Fatalf("suspect = %v, want %v", got, tc.suspect)
			}
		})
	}
}

func TestDevicesLookup(t *testing.T) {
	d := Devices{
		{Serial: "POOL1", Officer: "111", To: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)},
		{Serial: "POOL1", Officer: "222", From: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)},
		{Serial: "J0123456", Officer: "012345"},
	}
	tests := []struct {
		serial     string
		at         time.Time
		officer    string
		registered bool
	}{
		{"POOL1", time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), "111", true},
		{"POOL1", time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC), "222", true},
		{"J0123456", time.Now(), "012345", true},
		{"NOPE", time.Now(), "", false},
	}
	for _, tc := range tests {
		o, r := d.Lookup(tc.serial, tc.at)
		if o != tc.officer || r != tc.registered {
			t.Errorf("Lookup(%s, %v) = %q %v", tc.serial, tc.at, o, r)
		}
	}
}

func TestReadDeviceID(t *testing.T) {
	tests := []struct {
		name, file, body, want string
	}{
		{"txt", "DEVICE.TXT", "\ufeffJ7654321\r\nmodel X\n", "J7654321"},
		{"json", "device.json", `{"serial":"K1234567"}`, "K1234567"},
		{"hostile", "DEVICE.TXT", "../../etc\n", ""},
		{"huge", "DEVICE.TXT", strings.Repeat("A", 10000), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "cam"), 0o755)
			os.WriteFile(filepath.Join(dir, "cam", tc.file), []byte(tc.body), 0o644)
			got, _ := ReadDeviceID(openRoot(t, dir), "cam")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	dir := t.TempDir()
	os.Symlink("/etc/hostname", filepath.Join(dir, "DEVICE.TXT"))
	if got, ok := ReadDeviceID(openRoot(t, dir), "."); ok {
		t.Fatalf("followed a symlink: %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"J0123456_012345_20261121083015_0001.MP4",
		"J0123456_012345_20261121091500_0002_IMP.MP4",
		"j0123456-012345-20261121094000-0006-imp.mov",
		"bad\xff.mp4", "执法记录.mp4", "", "..", "a/b",
	} {
		f.Add(s)
	}
	ps := mustProfiles(f)
	f.Fuzz(func(t *testing.T, name string) {
		for _, p := range ps {
			m := p.Parse(name, shanghai)
			if m.Device != "" && !text.ValidID(m.Device) || m.Officer != "" && !text.ValidID(m.Officer) {
				t.Fatalf("%s: unsafe id from %q: %+v", p.Name(), name, m)
			}
			if strings.ContainsAny(m.Ext, "/\\.\x00") || m.Seq < 0 {
				t.Fatalf("%s: bad ext or seq from %q: %+v", p.Name(), name, m)
			}
		}
	})
}

func FuzzParseDeviceFile(f *testing.F) {
	f.Add("DEVICE.TXT", []byte("J7654321\r\nmodel\n"))
	f.Add("device.json", []byte(`{"serial":"K1234567"}`))
	f.Add("device.json", []byte(`{"device":"../x"}`))
	f.Add("DEVICE.TXT", []byte("\ufeff\x00\xff"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		if s, ok := ParseDeviceFile(name, b); ok && !text.ValidID(s) {
			t.Fatalf("unsafe serial %q", s)
		}
	})
}

func openRoot(t *testing.T, dir string) *Root {
	t.Helper()
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
