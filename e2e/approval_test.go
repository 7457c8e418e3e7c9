//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTwoPersonReleaseEndToEnd runs the real binary with three people: an
// operator holds a recording as evidence; supervisor wang.li asks for its
// release and cannot approve it himself, not even by naming sun.yu in the
// actor header; supervisor sun.yu approves and the hold goes. The custody
// trail names both, each for their own step.
func TestTwoPersonReleaseEndToEnd(t *testing.T) {
	r := newDockRig(t, "")
	users := filepath.Join(r.dir, "users")
	tokens, secrets := map[string]string{}, map[string]string{}
	for name, role := range map[string]string{"wang.li": "supervisor", "sun.yu": "supervisor", "li.na": "operator"} {
		out, err := exec.Command(binary, "user", "add", name, "--role", role, "--users-file", users).Output()
		if err != nil {
			t.Fatalf("user add %s: %v", name, err)
		}
		tokens[name], secrets[name] = filepath.Join(r.dir, name+".token"), strings.TrimSpace(string(out))
		if err := os.WriteFile(tokens[name], out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _ := os.ReadFile(r.config)
	cfg = bytes.Replace(cfg, []byte("users_file: "+usersFile), []byte("users_file: "+users), 1)
	if err := os.WriteFile(r.config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	d := start(t, r.config, r.addr)
	dockCameras(t, r.dock, 1, 1, func(int) int64 { return 64 << 10 })
	as := func(name string, args ...string) (string, error) {
		cmd := exec.Command(binary, append(args, "--config", r.config)...)
		cmd.Env = append(os.Environ(), "CUSTODIAN_TOKEN_FILE="+tokens[name])
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	waitFor(t, "the recording ingested", time.Minute, func() bool {
		out, err := as("li.na", "ls", "--json")
		return err == nil && strings.Contains(out, `"officer": "100001"`)
	})
	held := func() bool {
		out, err := as("li.na", "ls", "--json")
		if err != nil {
			t.Fatalf("ls: %v\n%s", err, out)
		}
		return strings.Contains(out, `"reason": "evidence"`)
	}

	if out, err := as("li.na", "hold", "--reason", "evidence", "--case", "C-7", "--why", "seized phone footage", "--id", "1"); err != nil {
		t.Fatalf("hold: %v\n%s", err, out)
	}
	out, err := as("wang.li", "release", "--reason", "evidence", "--why", "case dropped", "--id", "1", "--json")
	var q struct {
		ID    uint64 `json:"id"`
		Kind  string `json:"kind"`
		By    string `json:"by"`
		State string `json:"state"`
	}
	if err != nil || json.Unmarshal([]byte(out), &q) != nil || q.Kind != "release" || q.By != "wang.li" || q.State != "pending" {
		t.Fatalf("release asked: %v\n%s", err, out)
	}
	if !held() {
		t.Fatal("the release took effect on one supervisor's word")
	}
	id := fmt.Sprint(q.ID)
	if out, err := as("wang.li", "request", "approve", id, "--why", "my own"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("approval by the requester: %v\n%s", err, out)
	}
	// A forged actor header: wang.li's token naming sun.yu.
	url := "http://" + r.addr + "/api/v1/requests/" + id + "/approve"
	if code, body := httpPost(t, url, secrets["wang.li"], "sun.yu", `{"why":"forged"}`); code != 403 {
		t.Fatalf("forged actor header: %d %s", code, body)
	}
	if out, err := as("li.na", "request", "approve", id, "--why", "operator tries"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("approval by an operator: %v\n%s", err, out)
	}
	if !held() {
		t.Fatal("a refused approval released the hold")
	}
	if out, err := as("li.na", "status"); err != nil || !strings.Contains(out, "WAITING FOR A SECOND SUPERVISOR") {
		t.Fatalf("status does not show the pending request: %v\n%s", err, out)
	}
	if out, err := as("sun.yu", "request", "approve", id, "--why", "agreed: charges dropped"); err != nil || !strings.Contains(out, "approved by sun.yu") {
		t.Fatalf("approval by a second supervisor: %v\n%s", err, out)
	}
	if held() {
		t.Fatal("still held after the approval")
	}
	checkTrail(t, as)

	d.stop()
	for name, secret := range secrets {
		if strings.Contains(d.log.String(), secret[len(name)+1:]) {
			t.Errorf("%s's token is in the log", name)
		}
	}
}

// checkTrail finds the hold, the request, the approval and the release in
// the custody trail, each under the name of whoever authenticated for it.
func checkTrail(t *testing.T, as func(string, ...string) (string, error)) {
	t.Helper()
	out, err := as("li.na", "status", "--json")
	var st struct {
		Events []struct {
			Type   string `json:"type"`
			Actor  string `json:"actor"`
			Detail string `json:"detail"`
		} `json:"events"`
	}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, e := range st.Events {
		if _, seen := got[e.Type]; !seen {
			got[e.Type] = e.Actor
		}
		if e.Type == "unheld" && !strings.Contains(e.Detail, "asked by wang.li, approved by sun.yu") {
			t.Errorf("release event does not name both: %q", e.Detail)
		}
	}
	for typ, actor := range map[string]string{"held": "li.na", "requested": "wang.li", "approved": "sun.yu", "unheld": "sun.yu"} {
		if got[typ] != actor {
			t.Errorf("trail: %s by %q, want %s (trail %v)", typ, got[typ], actor, got)
		}
	}
	if strings.Contains(out, `"actor": "sun.yu"`) && strings.Contains(out, "forged") {
		t.Error("the forged approval reached the trail")
	}
}
