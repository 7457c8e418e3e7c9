package disk

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

const fixture = "testdata/health"

// fakeSmartctl writes a script that prints a fixture as smartctl would.
func fakeSmartctl(t *testing.T, fixtureName string, exit int) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(fixture, "smart", fixtureName))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "smartctl")
	script := "#!/bin/sh\ncat '" + abs + "'\nexit " + string(rune('0'+exit)) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func fixedStatfs(st FSStats) func(string) (FSStats, error) {
	return func(string) (FSStats, error) { return st, nil }
}

const gib = 1 << 30

func healthy(major, minor uint32) FSStats {
	return FSStats{TotalBytes: 100 * gib, FreeBytes: 60 * gib, UsedBytes: 38 * gib,
		TotalInodes: 1000, FreeInodes: 900, Major: major, Minor: minor}
}

func TestMonitorCheck(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, MarkerName)
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	passed := fakeSmartctl(t, "passed.json", 0)
	failing := fakeSmartctl(t, "failing.json", 8)
	denied := fakeSmartctl(t, "denied.json", 2)
	tests := []struct {
		name     string
		vol      Volume
		st       FSStats
		stErr    error
		smartctl string
		want     Level
		problems []string
		check    func(t *testing.T, h VolumeHealth)
	}{
		{
			name: "healthy partition", vol: Volume{Role: "staging", Path: "/var/lib/custodian/staging", Marker: marker},
			st: healthy(8, 1), smartctl: passed, want: LevelOK,
			check: func(t *testing.T, h VolumeHealth) {
				if h.Device != "sda1" || h.MountPoint != "/var/lib/custodian" || h.FSType != "ext4" || h.Marker != "ok" {
					t.Errorf("device %q mount %q fs %q marker %q", h.Device, h.MountPoint, h.FSType, h.Marker)
				}
				if h.IOErrors != 0 || h.SMART.Passed == nil || !*h.SMART.Passed || h.SMART.Model != "WDC WD80EFZZ-68BTXN0" || h.SMART.Temperature != 34 {
					t.Errorf("io errors %d smart %+v", h.IOErrors, h.SMART)
				}
			},
		},
		{
			name: "space low", vol: Volume{Role: "staging", Path: "/var/lib/custodian/staging"},
			st: FSStats{TotalBytes: 100 * gib, FreeBytes: 10 * gib, TotalInodes: 1000, FreeInodes: 900, Major: 8, Minor: 1}, smartctl: passed,
			want: LevelWarning, problems: []string{"space free 10.0% (warning below 15%)"},
		},
		{
			name: "space critical", vol: Volume{Role: "staging", Path: "/var/lib/custodian/staging"},
			st: FSStats{TotalBytes: 100 * gib, FreeBytes: 4 * gib, TotalInodes: 1000, FreeInodes: 900, Major: 8, Minor: 1}, smartctl: passed,
			want: LevelCritical, problems: []string{"space free 4.0% (critical below 5%)"},
		},
		{
			name: "inodes critical", vol: Volume{Role: "catalog", Path: "/var/lib/custodian"},
			st: FSStats{TotalBytes: 100 * gib, FreeBytes: 60 * gib, TotalInodes: 1000, FreeInodes: 10, Major: 8, Minor: 1}, smartctl: passed,
			want: LevelCritical, problems: []string{"inodes free 1.0% (critical below 5%)"},
		},
		{
			name: "failing disk with I/O errors", vol: Volume{Role: "staging", Path: "/srv/evidence disk/staging"},
			st: healthy(8, 16), smartctl: failing, want: LevelCritical,
			problems: []string{"28 I/O errors on sdb since boot", "SMART says sdb is failing"},
			check: func(t *testing.T, h VolumeHealth) {
				if h.MountPoint != "/srv/evidence disk" || h.FSType != "xfs" || h.SMART.Temperature != 51 {
					t.Errorf("mount %q fs %q smart %+v", h.MountPoint, h.FSType, h.SMART)
				}
			},
		},
		{
			name: "marker missing", vol: Volume{Role: "staging", Path: "/var/lib/custodian/staging", Marker: filepath.Join(dir, "nope", MarkerName)},
			st: healthy(8, 1), smartctl: passed, want: LevelCritical,
			check: func(t *testing.T, h VolumeHealth) {
				if h.Marker != "missing" || len(h.Problems) != 1 || !strings.Contains(h.Problems[0], "mount marker missing") {
					t.Errorf("marker %q problems %q", h.Marker, h.Problems)
				}
			},
		},
		{
			name: "statfs fails", vol: Volume{Role: "staging", Path: "/gone"},
			stErr: errors.New("statfs /gone: no such file or directory"), want: LevelCritical,
			problems: []string{"statfs /gone: no such file or directory"},
		},
		{
			name: "device mapper: no SMART of its own", vol: Volume{Role: "staging", Path: "/srv/lvm/staging"},
			st: healthy(253, 0), smartctl: passed, want: LevelOK,
			check: func(t *testing.T, h VolumeHealth) {
				if h.Device != "dm-0" || h.IOErrors != -1 || h.SMART.Note != "not a physical disk" {
					t.Errorf("device %q io errors %d smart %+v", h.Device, h.IOErrors, h.SMART)
				}
			},
		},
		{
			name: "tmpfs: no block device", vol: Volume{Role: "staging", Path: "/tmp/x"},
			st: healthy(0, 40), smartctl: passed, want: LevelOK,
			check: func(t *testing.T, h VolumeHealth) {
				if h.Device != "" || h.FSType != "tmpfs" || h.SMART.Note != "no block device" {
					t.Errorf("device %q fs %q smart %+v", h.Device, h.FSType, h.SMART)
				}
			},
		},
		{
			name: "smartctl not installed", vol: Volume{Role: "staging", Path: "/var/lib/custodian/staging"},
			st: healthy(8, 1), smartctl: filepath.Join(dir, "no-smartctl"), want: LevelOK,
			check: func(t *testing.T, h VolumeHealth) {
				if h.SMART.Passed != nil || h.SMART.Note != "smartctl not installed" {
					t.Errorf("smart %+v", h.SMART)
				}
			},
		},
		{
			name: "smartctl without permission", vol: Volume{Role: "staging", Path: "/var/lib/custodian/staging"},
			st: healthy(8, 1), smartctl: denied, want: LevelOK,
			check: func(t *testing.T, h VolumeHealth) {
				if h.SMART.Passed != nil || h.SMART.Note != "smartctl: Smartctl open device: /dev/sda failed: Permission denied" {
					t.Errorf("smart %+v", h.SMART)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMonitor(HealthConfig{
				Volumes: []Volume{tc.vol}, SysRoot: filepath.Join(fixture, "sys"), ProcRoot: filepath.Join(fixture, "proc"),
				Smartctl: tc.smartctl,
				Statfs:   func(string) (FSStats, error) { return tc.st, tc.stErr },
			})
			r := m.Check(context.Background())
			if r.Level != tc.want || len(r.Volumes) != 1 || r.Volumes[0].Level != tc.want {
				t.Fatalf("level %v, want %v: %+v", r.Level, tc.want, r.Volumes)
			}
			h := r.Volumes[0]
			if tc.problems != nil && strings.Join(h.Problems, "|") != strings.Join(tc.problems, "|") {
				t.Errorf("problems\n got %q\nwant %q", h.Problems, tc.problems)
			}
			if tc.want == LevelOK && len(h.Problems) > 0 {
				t.Errorf("problems %q on a healthy volume", h.Problems)
			}
			if tc.check != nil {
				tc.check(t, h)
			}
			if got := m.Report(); got.Level != tc.want || m.Critical() != (tc.want == LevelCritical) {
				t.Errorf("Report().Level %v, Critical() %v", got.Level, m.Critical())
			}
		})
	}
}

func TestMonitorLatency(t *testing.T) {
	sys := t.TempDir()
	dev := filepath.Join(sys, "devices", "sdc")
	if err := os.MkdirAll(filepath.Join(sys, "dev", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dev, filepath.Join(sys, "dev", "block", "8:32")); err != nil {
		t.Fatal(err)
	}
	writeStat := func(reads, readMs, writes, writeMs int) {
		line := strings.Join([]string{strconv.Itoa(reads), "0", "0", strconv.Itoa(readMs), strconv.Itoa(writes), "0", "0", strconv.Itoa(writeMs), "0", "0", "0"}, " ")
		if err := os.WriteFile(filepath.Join(dev, "stat"), []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := NewMonitor(HealthConfig{
		Volumes: []Volume{{Role: "staging", Path: "/x"}}, SysRoot: sys, ProcRoot: t.TempDir(),
		Smartctl: filepath.Join(sys, "none"), Statfs: fixedStatfs(healthy(8, 32)),
	})
	writeStat(100, 1000, 50, 500)
	if h := m.Check(context.Background()).Volumes[0]; h.ReadLatency != 0 || h.WriteLatency != 0 {
		t.Fatalf("first sample has latency %v/%v", h.ReadLatency, h.WriteLatency)
	}
	writeStat(200, 2000, 60, 30500) // 10 ms per read, 3 s per write
	h := m.Check(context.Background()).Volumes[0]
	if h.ReadLatency != 10*time.Millisecond || h.WriteLatency != 3*time.Second {
		t.Fatalf("latency %v/%v, want 10ms/3s", h.ReadLatency, h.WriteLatency)
	}
	if h.Level != LevelWarning || len(h.Problems) != 1 || h.Problems[0] != "sdc is slow: 3s per request" {
		t.Fatalf("level %v problems %q", h.Level, h.Problems)
	}
}

// TestMonitorRun checks the sampling period and that a change of level is
// logged, in a synctest bubble so no real time passes.
func TestMonitorRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var logs bytes.Buffer
		st := healthy(0, 40)
		m := NewMonitor(HealthConfig{
			Volumes:  []Volume{{Role: "staging", Path: "/x"}},
			Interval: 30 * time.Second, SysRoot: t.TempDir(), ProcRoot: t.TempDir(),
			Statfs: func(string) (FSStats, error) {
				if calls.Add(1) == 3 {
					st.FreeBytes = 1 * gib // third sample: nearly full
				}
				return st, nil
			},
			Log: slog.New(slog.NewTextHandler(&logs, nil)),
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		if calls.Load() != 1 || m.Report().Level != LevelOK {
			t.Fatalf("after start: %d samples, level %v", calls.Load(), m.Report().Level)
		}
		time.Sleep(95 * time.Second)
		synctest.Wait()
		if calls.Load() != 4 {
			t.Fatalf("after 95s: %d samples, want 4 (0s, 30s, 60s, 90s)", calls.Load())
		}
		if !m.Critical() {
			t.Fatalf("level %v after the disk filled", m.Report().Level)
		}
		if n := strings.Count(logs.String(), "storage health changed"); n != 1 || !strings.Contains(logs.String(), "level=critical") {
			t.Fatalf("logs:\n%s", logs.String())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestStatfsReal(t *testing.T) {
	st, err := statfs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if st.TotalBytes == 0 || st.FreeBytes > st.TotalBytes || st.UsedBytes > st.TotalBytes {
		t.Fatalf("implausible %+v", st)
	}
	if _, err := statfs(filepath.Join(t.TempDir(), "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("statfs of a missing dir: %v", err)
	}
}

func TestCheckMarker(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, MarkerName)
	if err := CheckMarker(p); !errors.Is(err, ErrNoMarker) {
		t.Fatalf("missing marker: %v", err)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckMarker(p); err != nil {
		t.Fatal(err)
	}
}

func TestFindMount(t *testing.T) {
	mi := filepath.Join(fixture, "proc", "self", "mountinfo")
	tests := []struct{ path, point, fs string }{
		{"/var/lib/custodian", "/var/lib/custodian", "ext4"},
		{"/var/lib/custodian/staging/ab", "/var/lib/custodian", "ext4"},
		{"/var/lib/custodianx", "/", "ext4"},
		{"/srv/evidence disk/staging", "/srv/evidence disk", "xfs"},
		{"/etc", "/", "ext4"},
	}
	for _, tc := range tests {
		m, ok := findMount(mi, tc.path)
		if !ok || m.point != tc.point || m.fsType != tc.fs {
			t.Errorf("findMount(%q) = %+v %v, want %s %s", tc.path, m, ok, tc.point, tc.fs)
		}
	}
}

func TestParseSMART(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`{}`, "smartctl: no health status (exit status 0)"},
		{`not json`, "smartctl: unreadable output"},
		{`{"smartctl":{"exit_status":2,"messages":[{"string":"bad\u0007 bell"}]}}`, `smartctl: bad\u{7} bell`},
	} {
		if got := parseSMART([]byte(tc.in)); got.Note != tc.want || got.Passed != nil {
			t.Errorf("parseSMART(%s) = %+v, want note %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseSMART: smartctl output is read, whatever it holds, without panic.
func FuzzParseSMART(f *testing.F) {
	for _, name := range []string{"passed.json", "failing.json", "denied.json"} {
		b, err := os.ReadFile(filepath.Join(fixture, "smart", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := parseSMART(b)
		if s.Passed == nil && s.Note == "" {
			t.Fatalf("no health and no note for %q", b)
		}
	})
}

// FuzzUnescapeMount: mountinfo fields decode without panic or growth.
func FuzzUnescapeMount(f *testing.F) {
	for _, s := range []string{`/srv/evidence\040disk`, `\`, `\04`, `\777x`, `/a\134b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if out := unescapeMount(s); len(out) > len(s) {
			t.Fatalf("%q grew to %q", s, out)
		}
	})
}
