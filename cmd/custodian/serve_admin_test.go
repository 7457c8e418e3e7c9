package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

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
	y := "station: st01\ndata_dir: " + data + "\nadmin: {listen: \"127.0.0.1:0\"}\nstorage: {require_marker: true}\n" +
		"docks:\n  - {id: dock-a, path: " + dock + "}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}

	// No marker: the data disk counts as unmounted and serve refuses.
	err := run(t.Context(), []string{"serve", "--config", cfg}, io.Discard, io.Discard)
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
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("dock-a")) || !bytes.Contains(body, []byte("present")) {
		t.Fatalf("status page %d:\n%s", res.StatusCode, body)
	}
	res, err = http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(body, []byte(`custodian_disk_health{volume="staging"} 0`)) {
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
