package systemd

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"custodian/internal/testenv"
)

// MaxExposure is the highest `systemd-analyze security` exposure accepted.
const MaxExposure = 2.0

// unitCopy writes the unit with ExecStart pointing at a binary that exists
// here (verify checks it), under its real name.
func unitCopy(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("custodian.service")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.Replace(string(b), "ExecStart=/usr/bin/custodian ", "ExecStart="+exe+" ", 1)
	if unit == string(b) {
		t.Fatal("custodian.service: ExecStart=/usr/bin/custodian not found")
	}
	p := filepath.Join(t.TempDir(), "custodian.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnitVerifies(t *testing.T) {
	sa := testenv.Tool(t, "systemd-analyze")
	out, err := exec.Command(sa, "verify", unitCopy(t)).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for custodian\.service: ([0-9.]+)`)

func TestUnitExposure(t *testing.T) {
	sa := testenv.Tool(t, "systemd-analyze")
	out, err := exec.Command(sa, "security", "--offline=yes", "--no-pager", unitCopy(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("exposure %.1f", score)
	if score > MaxExposure {
		t.Fatalf("exposure %.1f, want at most %.1f:\n%s", score, MaxExposure, out)
	}
}

// TestUnitSettings pins the settings custodian's design relies on.
func TestUnitSettings(t *testing.T) {
	b, err := os.ReadFile("custodian.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"Type=notify", "WatchdogSec=", "Restart=on-failure", "User=custodian", "StateDirectory=custodian",
		"ProtectSystem=strict", "ReadWritePaths=/var/lib/custodian", "NoNewPrivileges=yes",
		"RequiresMountsFor=/var/lib/custodian", "LoadCredential=admin-token:", "LoadCredential=s3-secret:", "LoadCredential=users:",
		"RuntimeDirectory=custodian\n", "RuntimeDirectoryMode=0750\n",
		"CapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
		"SystemCallFilter=adjtimex\n", // the station clock's NTP state, read-only
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("custodian.service lacks %q", strings.TrimSpace(want))
		}
	}
}

func TestSysctl(t *testing.T) {
	f, err := os.Open("custodian-sysctl.conf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil {
			t.Fatalf("bad line %q", line)
		}
		got[strings.TrimSpace(k)] = n
	}
	if got["fs.inotify.max_user_watches"] < 524288 || got["fs.inotify.max_user_instances"] < 512 {
		t.Fatalf("inotify limits %v", got)
	}
}

// TestSysusersTmpfiles applies both files to an empty root with systemd's
// own tools: the user exists and the directories get their owners.
func TestSysusersTmpfiles(t *testing.T) {
	sysusers := testenv.Tool(t, "systemd-sysusers")
	tmpfiles := testenv.Tool(t, "systemd-tmpfiles")
	if os.Geteuid() != 0 {
		t.Skip("systemd-tmpfiles --root needs root to set owners")
	}
	root := t.TempDir()
	users, _ := filepath.Abs("custodian-sysusers.conf")
	dirs, _ := filepath.Abs("custodian-tmpfiles.conf")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sysusers, "--root="+root, users).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if !strings.HasPrefix(string(passwd), "custodian:x:") || !strings.Contains(string(passwd), ":/var/lib/custodian:/usr/sbin/nologin") {
		t.Fatalf("passwd:\n%s", passwd)
	}
	if out, err := exec.Command(tmpfiles, "--root="+root, "--create", dirs).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	for _, d := range []string{"etc/custodian", "srv/custodian/docks"} {
		fi, err := os.Stat(filepath.Join(root, d))
		if err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("%s: %v %v", d, fi, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/custodian/.custodian-volume")); err == nil {
		t.Error("tmpfiles created the mount marker")
	}
}
