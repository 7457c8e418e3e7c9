//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"custodian/internal/testenv"
	"custodian/internal/testlog"
)

// adminToken is the secret that must never show in any output.
const adminToken = "e2e-admin-token-7c1f0b9a8e2d4c63"

// notifySocket stands in for systemd: it collects sd_notify messages.
type notifySocket struct {
	path string
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n := &notifySocket{path: p, msgs: make(chan string, 1000)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	return n
}

// waitMsg waits for a message that starts with prefix, skipping others.
func (n *notifySocket) waitMsg(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-n.msgs:
			if strings.HasPrefix(m, prefix) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q from custodian within %v", prefix, timeout)
		}
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := apiGet(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func httpPost(t *testing.T, url, token, actor, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if actor != "" {
		req.Header.Set("X-Custodian-Actor", actor)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAdminEndToEnd runs the real binary as systemd would, with a mount
// marker, a token and a fake notify socket: it refuses an unmounted data
// dir, says READY, serves the page, metrics and CLI, guards changes, and
// stops pinging the watchdog when the data disk disappears.
func TestAdminEndToEnd(t *testing.T) {
	dir := t.TempDir()
	dock := filepath.Join(dir, "docks", "dock-a")
	data := filepath.Join(dir, "data")
	os.MkdirAll(dock, 0o755)
	os.MkdirAll(data, 0o750)
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	config := filepath.Join(dir, "custodian.yaml")
	cfg := fmt.Sprintf(`station: st01
data_dir: %s
timezone: Asia/Shanghai
admin: {listen: "%s", token_file: %s, users_file: %s}
storage: {require_marker: true, check_interval: 1s}
%sdocks:
  - {id: dock-a, path: %s, settle: 1s, scan_interval: 1s}
devices:
  - {serial: "J0000001", officer: "100001"}
`, data, addr, tokenFile, usersFile, anyClock, dock)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	// The data disk "failed to mount": no marker, so custodian refuses.
	out, err := runExpectFail(binary, "serve", "--config", config)
	if exitCodeOf(err) != 1 || !strings.Contains(out, "mount marker missing") {
		t.Fatalf("serve without marker: exit %d\n%s", exitCodeOf(err), out)
	}
	if _, err := os.Stat(filepath.Join(data, "custodian.db")); err == nil {
		t.Fatal("custodian wrote to the unmounted data dir")
	}
	marker := filepath.Join(data, ".custodian-volume")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	sd := newNotifySocket(t)
	logs := &testlog.Buffer{}
	cmd := exec.Command(binary, "serve", "--config", config)
	cmd.Stdout, cmd.Stderr = logs, logs
	// WATCHDOG_PID is left out: systemd sets it only for forked services.
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sd.path, "WATCHDOG_USEC=1000000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("custodian log:\n%s", logs.String())
		}
	})
	ready := sd.waitMsg(t, "READY=1", 30*time.Second)
	if !strings.Contains(ready, "admin on "+addr) {
		t.Fatalf("READY message %q", ready)
	}
	sd.waitMsg(t, "WATCHDOG=1", 5*time.Second)

	dockCameras(t, dock, 1, 2, func(int) int64 { return 256 << 10 })
	base := "http://" + addr
	waitFor(t, "both recordings ingested", 60*time.Second, func() bool {
		_, m := httpGet(t, base+"/metrics")
		return strings.Contains(m, `custodian_ingest_files_total{source="dock"} 2`)
	})

	code, page := httpGet(t, base+"/")
	for _, want := range []string{`id="storage"`, "present", "dock-a", "slot1", "J0000001", "ingested"} {
		if code != 200 || !strings.Contains(page, want) {
			t.Fatalf("status page %d lacks %q", code, want)
		}
	}
	_, metrics := httpGet(t, base+"/metrics")
	c := exec.Command(testenv.Tool(t, "promtool"), "check", "metrics")
	c.Stdin = strings.NewReader(metrics)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	status := string(cli(t, "status", "--config", config))
	if !strings.Contains(status, "station st01") || !strings.Contains(status, "staging") {
		t.Fatalf("custodian status:\n%s", status)
	}

	// Changes need the token; the note lands in the custody trail.
	if code, body := httpPost(t, base+"/api/v1/notes", "", "wang.li", `{"text":"shift check"}`); code != 401 {
		t.Fatalf("note without token: %d %s", code, body)
	}
	if code, body := httpPost(t, base+"/api/v1/notes", "wrong-token-123456", "wang.li", `{"text":"shift check"}`); code != 401 {
		t.Fatalf("note with a wrong token: %d %s", code, body)
	}
	// The deprecated shared token still acts, as the supervisor shared-token,
	// and no header makes it anyone else.
	if code, body := httpPost(t, base+"/api/v1/recordings/1/notes", adminToken, "wang.li", `{"text":"forged name"}`); code != 403 {
		t.Fatalf("shared token naming wang.li: %d %s", code, body)
	}
	if code, body := httpPost(t, base+"/api/v1/recordings/1/notes", adminToken, "", `{"text":"reviewed on dock"}`); code != 201 {
		t.Fatalf("note with the token: %d %s", code, body)
	}
	_, page = httpGet(t, base+"/")
	if !strings.Contains(page, "reviewed on dock") || !strings.Contains(page, "shared-token") || strings.Contains(page, "forged name") ||
		!strings.Contains(page, "admin.token_file is deprecated") {
		t.Fatal("the note is not in the custody events on the page as shared-token, or the deprecation is not shown")
	}

	// The data disk vanishes under the running daemon: health turns
	// critical, the watchdog pings stop and the reason reaches systemd.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	unhealthy := sd.waitMsg(t, "STATUS=unhealthy", 10*time.Second)
	if !strings.Contains(unhealthy, "mount marker missing") {
		t.Fatalf("unhealthy status %q", unhealthy)
	}
	quiet := time.After(1500 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case m := <-sd.msgs:
			if m == "WATCHDOG=1" {
				t.Fatal("watchdog pinged while the data disk is gone")
			}
		case <-quiet:
			waiting = false
		}
	}
	if _, m := httpGet(t, base+"/metrics"); !strings.Contains(m, `custodian_disk_health{volume="staging"} 2`) {
		t.Fatal("disk health is not critical in /metrics")
	}
	if _, p := httpGet(t, base+"/"); !strings.Contains(p, "MISSING") {
		t.Fatal("the status page does not show the missing marker")
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("custodian did not stop")
	}
	sd.waitMsg(t, "STOPPING=1", 5*time.Second)

	// The token never shows: not in logs, metrics, the page or the CLI.
	for what, text := range map[string]string{"log": logs.String(), "metrics": metrics, "page": page, "status": status} {
		if strings.Contains(text, adminToken) || strings.Contains(text, adminToken[:16]) {
			t.Errorf("the admin token appears in the %s", what)
		}
	}
	if !bytes.Contains([]byte(logs.String()), []byte("refused admin call")) {
		t.Error("refused calls are not logged")
	}
	if !strings.Contains(logs.String(), "admin.token_file is deprecated") {
		t.Error("the shared token's deprecation is not logged at start")
	}
}
