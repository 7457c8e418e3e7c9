package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"custodian/admin"
	"custodian/hardware/disk"
	"custodian/internal/testlog"
)

// TestServeUnderSystemd runs the daemon as systemd would: it must say READY
// once reconciled and serving, ping the watchdog while healthy, and serve
// the status page and metrics.
func TestServeUnderSystemd(t *testing.T) {
	dir := t.TempDir()
	msgs, sock := fakeSystemd(t, filepath.Join(dir, "notify"))
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	dock := filepath.Join(dir, "docks", "a")
	if err := os.MkdirAll(dock, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "custodian.yaml")
	// The account running the test is a custodian viewer: through the
	// admin socket the kernel vouches for it, no token needed.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("unused-secret"), bcrypt.MinCost)
	usersFile := filepath.Join(dir, "users")
	if err := os.WriteFile(usersFile, []byte(admin.FormatUser(admin.User{Name: me.Username, Role: admin.RoleViewer, Hash: string(hash)})+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	adminSock := filepath.Join(dir, "admin.sock")
	y := "station: st01\ndata_dir: " + data + "\nadmin: {listen: \"127.0.0.1:0\", users_file: " + usersFile + ", socket: " + adminSock + "}\nstorage: {require_marker: true}\n" +
		"docks:\n  - {id: dock-a, path: " + dock + "}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}

	// No marker: the data disk counts as unmounted and serve refuses.
	err = run(t.Context(), []string{"serve", "--config", cfg}, io.Discard, io.Discard)
	if !errors.Is(err, disk.ErrNoMarker) {
		t.Fatalf("serve without the marker: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "custodian.db")); err == nil {
		t.Fatal("serve wrote to an unmounted data dir")
	}
	if err := os.WriteFile(filepath.Join(data, disk.MarkerName), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	var logs testlog.Buffer
	go func() { done <- run(ctx, []string{"serve", "--config", cfg}, io.Discard, &logs) }()
	next := func() string {
		select {
		case m := <-msgs:
			return m
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Second):
			t.Fatalf("no message from serve\n%s", logs.String())
		}
		return ""
	}
	ready := next()
	m := regexp.MustCompile(`^READY=1\nSTATUS=running: 1 docks, 0 rooms, admin on (127\.0\.0\.1:\d+)$`).FindStringSubmatch(ready)
	if m == nil {
		t.Fatalf("first message %q", ready)
	}
	if w := next(); w != "WATCHDOG=1" {
		t.Fatalf("after READY: %q", w)
	}
	res, err := http.Get("http://" + m[1] + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/login" || bytes.Contains(body, []byte("dock-a")) {
		t.Fatalf("status page without a login: %s %d:\n%s", res.Request.URL, res.StatusCode, body)
	}
	if fi, err := os.Stat(adminSock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("admin socket: %v %v", fi, err)
	}
	overSocket := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", adminSock)
	}}}
	res, err = overSocket.Get("http://custodian/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("dock-a")) || !bytes.Contains(body, []byte("present")) ||
		!bytes.Contains(body, []byte(me.Username+" (viewer)")) {
		t.Fatalf("status page over the socket %d:\n%s", res.StatusCode, body)
	}
	// The CLI on the server finds the socket in the config: no token typed.
	var out bytes.Buffer
	if err := run(t.Context(), []string{"status", "--config", cfg}, &out, io.Discard); err != nil || !bytes.Contains(out.Bytes(), []byte("dock-a")) {
		t.Fatalf("status over the socket: %v\n%s", err, out.String())
	}
	res, err = http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	// any level: the machine running the test may be short of space
	if !bytes.Contains(body, []byte(`custodian_disk_health{volume="staging"} `)) {
		t.Fatalf("metrics lack disk health:\n%s", body)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// STOPPING=1 was sent before serve returned; the reader may lag behind.
	for {
		select {
		case m := <-msgs:
			if m == "STOPPING=1" {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no STOPPING=1")
		}
	}
}

// TestListenSocket: a stale socket is replaced, a live one or a file is not.
func TestListenSocket(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "admin.sock")
	ln, err := listenSocket(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := listenSocket(p); err == nil || !strings.Contains(err.Error(), "another process answers there") {
		t.Fatalf("second listener on a live socket: %v", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // a crash leaves the socket file behind
	if ln, err = listenSocket(p); err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln.Close()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := listenSocket(file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("a file at the path: %v", err)
	}
}
