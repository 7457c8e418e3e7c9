//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuthEndToEnd runs the real binary with two people and a socket:
// nothing about recordings, rooms or cases answers without a login; the
// custody trail names who authenticated, whatever a header or --by claims;
// an operator cannot release; the CLI on the server needs no token.
func TestAuthEndToEnd(t *testing.T) {
	r := newDockRig(t, "")
	users := filepath.Join(r.dir, "users")
	sock := filepath.Join(r.dir, "admin.sock")
	tokens := map[string]string{}
	for name, role := range map[string]string{"wang.li": "supervisor", "li.na": "operator"} {
		out, err := exec.Command(binary, "user", "add", name, "--role", role, "--users-file", users).Output()
		if err != nil {
			t.Fatalf("user add %s: %v", name, err)
		}
		tokens[name] = filepath.Join(r.dir, name+".token")
		if err := os.WriteFile(tokens[name], out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "user", "add", me.Username, "--role", "viewer", "--users-file", users).CombinedOutput(); err != nil {
		t.Fatalf("user add %s: %v\n%s", me.Username, err, out)
	}
	cfg, _ := os.ReadFile(r.config)
	cfg = bytes.Replace(cfg, []byte("users_file: "+usersFile), []byte("users_file: "+users+", socket: "+sock), 1)
	if err := os.WriteFile(r.config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	d := start(t, r.config, r.addr)
	dockCameras(t, r.dock, 1, 1, func(int) int64 { return 64 << 10 })
	as := func(name string, args ...string) (string, error) {
		if !strings.Contains(strings.Join(args, " "), "--config") {
			args = append(args, "--config", r.config)
		}
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), "CUSTODIAN_TOKEN_FILE="+tokens[name])
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	waitFor(t, "the recording ingested", time.Minute, func() bool {
		out, err := as("li.na", "ls", "--json")
		return err == nil && strings.Contains(out, `"officer": "100001"`)
	})

	// Without a login: refused, and nothing personal shown.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + r.addr
	for _, path := range []string{"/", "/api/v1/recordings", "/api/v1/recordings/1", "/api/v1/status", "/api/v1/cases/C-1", "/api/v1/report?day=2026-11-21"} {
		res, err := noFollow.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := http.StatusUnauthorized
		if path == "/" {
			want = http.StatusSeeOther
		}
		if res.StatusCode != want {
			t.Errorf("GET %s without a login: %d, want %d", path, res.StatusCode, want)
		}
	}
	// /healthz and /metrics answer anyone, so they name no one: checked
	// before and after a case exists.
	noPersonal := func() {
		t.Helper()
		for _, path := range []string{"/healthz", "/metrics"} {
			res, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(res.Body)
			res.Body.Close()
			for _, personal := range []string{"100001", "J0000001", "wang.li", "li.na", "C-1", "seized"} {
				if res.StatusCode != 200 || strings.Contains(b.String(), personal) {
					t.Errorf("GET %s: %d, shows %q", path, res.StatusCode, personal)
				}
			}
		}
	}
	noPersonal()

	// li.na holds; --by naming wang.li is refused and changes nothing.
	if out, err := as("li.na", "hold", "--by", "wang.li", "--reason", "evidence", "--case", "C-1", "--why", "forged", "--id", "1"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("hold --by someone else: %v\n%s", err, out)
	}
	if out, err := as("li.na", "hold", "--reason", "evidence", "--case", "C-1", "--why", "seized phone footage", "--id", "1"); err != nil {
		t.Fatalf("hold: %v\n%s", err, out)
	}
	if out, err := as("li.na", "release", "--reason", "evidence", "--why", "operator tries", "--id", "1"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("operator release: %v\n%s", err, out)
	}
	holds := func() []map[string]any {
		out, err := as("wang.li", "case", "show", "--config", r.config, "--json", "C-1")
		if err != nil {
			t.Fatalf("case show: %v\n%s", err, out)
		}
		var resp struct {
			Recordings []struct {
				Holds []map[string]any `json:"holds"`
			} `json:"recordings"`
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Recordings) > 1 {
			t.Fatalf("case show: %v\n%s", err, out)
		}
		if len(resp.Recordings) == 0 {
			return nil
		}
		return resp.Recordings[0].Holds
	}
	if h := holds(); len(h) != 1 || h[0]["by"] != "li.na" || h[0]["why"] != "seized phone footage" {
		t.Fatalf("holds %v: want one, by li.na", h)
	}
	noPersonal()
	// A supervisor's release of evidence is a request; a second supervisor
	// approves it (TestTwoPersonReleaseEndToEnd).
	if out, err := as("wang.li", "release", "--reason", "evidence", "--why", "case dropped", "--id", "1"); err != nil || !strings.Contains(out, "request 1") {
		t.Fatalf("supervisor release: %v\n%s", err, out)
	}
	if h := holds(); len(h) != 1 {
		t.Fatalf("holds after a release request: %v", h)
	}

	// The CLI on the server: the socket knows this account, no token.
	cmd := exec.Command(binary, "status", "--config", r.config)
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "station st01") {
		t.Fatalf("status over the socket: %v\n%s", err, out)
	}
	cmd = exec.Command(binary, "hold", "--reason", "evidence", "--why", "viewer tries", "--id", "1", "--config", r.config)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "403") {
		t.Fatalf("viewer hold over the socket: %v\n%s", err, out)
	}

	d.stop()
	for name, f := range tokens {
		tok, _ := os.ReadFile(f)
		if secret := strings.TrimSpace(string(tok))[len(name)+1:]; strings.Contains(d.log.String(), secret) {
			t.Errorf("%s's token is in the log", name)
		}
	}
}
