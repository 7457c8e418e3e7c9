package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"custodian/storage/catalog"
)

// The daemon's daily report names the officers and cameras of the devices
// table that did not dock that day: serve hands the table to the report.
func TestServeReportsWhoDidNotDock(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close() // serve listens here; nothing else on loopback takes it meanwhile
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "custodian.yaml")
	y := "station: st01\ntimezone: UTC\ndata_dir: " + data + "\nadmin: {listen: \"" + listen + "\", users_file: " + asCLIUser(t) + "}\n" +
		"devices:\n  - {serial: J0000001, officer: \"100001\"}\n  - {serial: J0000002, officer: \"100002\"}\n" +
		"  - {serial: J0000003, officer: \"100003\", to: 2026-11-01}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(filepath.Join(data, "custodian.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC)
	if _, _, err := cat.Add(catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0000001",
		Officer: "100001", Name: "a.mp4", StartedAt: received.Add(-time.Hour), ReceivedAt: received, Size: 1,
		SHA256: strings.Repeat("a", 64), State: catalog.StateVerified}); err != nil {
		t.Fatal(err)
	}
	cat.Close()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- run(ctx, []string{"serve", "--config", cfg}, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var out bytes.Buffer
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out.Reset()
		err := run(t.Context(), []string{"report", "--config", cfg, "--day", "2026-11-21"}, &out, io.Discard)
		if err == nil {
			break
		}
		if !errors.Is(err, errNotRunning) || time.Now().After(deadline) {
			t.Fatalf("report: %v", err)
		}
	}
	var rep struct {
		NotDocked *struct {
			Officers []string `json:"officers"`
			Devices  []string `json:"devices"`
		} `json:"not_docked"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.NotDocked == nil || !slices.Equal(rep.NotDocked.Officers, []string{"100002"}) ||
		!slices.Equal(rep.NotDocked.Devices, []string{"J0000002"}) {
		t.Fatalf("report, want 100002 and J0000002 not docked:\n%s", out.String())
	}
}
