package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"custodian/hardware/disk"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"
)

// fakeSystemd listens where NOTIFY_SOCKET points and collects messages.
func fakeSystemd(t *testing.T, name string) (<-chan string, string) {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	return msgs, name
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNotifyReady(t *testing.T) {
	for _, sock := range []string{filepath.Join(t.TempDir(), "notify"), "@custodian-test-" + strconv.Itoa(os.Getpid())} {
		msgs, name := fakeSystemd(t, sock)
		n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": name}), slog.New(slog.DiscardHandler))
		n.Ready("running")
		select {
		case m := <-msgs:
			if m != "READY=1\nSTATUS=running" {
				t.Fatalf("%s: got %q", sock, m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no READY", sock)
		}
	}
	// Outside systemd nothing is sent and nothing fails.
	newNotifier(env(nil), slog.New(slog.DiscardHandler)).Ready("x")
}

func TestWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	msgs, name := fakeSystemd(t, filepath.Join(t.TempDir(), "notify"))
	n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": strconv.Itoa(os.Getpid())}),
		slog.New(slog.DiscardHandler))
	if n.watchdog != 100*time.Millisecond {
		t.Fatalf("watchdog %v", n.watchdog)
	}
	var sick atomic.Bool
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		done <- n.Watchdog(ctx, func() error {
			if sick.Load() {
				return errors.New("staging not writable: read-only file system")
			}
			return nil
		})
	}()
	next := func() string {
		select {
		case m := <-msgs:
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no message")
			return ""
		}
	}
	for range 3 {
		if m := next(); m != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", m)
		}
	}
	sick.Store(true)
	// Skip a ping that may be in flight, then only unhealthy status lines.
	for m := next(); m == "WATCHDOG=1"; m = next() {
	}
	for range 3 {
		if m := next(); m != "STATUS=unhealthy: staging not writable: read-only file system" {
			t.Fatalf("while unhealthy: %q", m)
		}
	}
	sick.Store(false)
	for m := next(); m != "WATCHDOG=1"; m = next() {
		if !strings.HasPrefix(m, "STATUS=") {
			t.Fatalf("recovering: %q", m)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for m := next(); m != "STOPPING=1"; m = next() {
	}
}

func TestWatchdogForAnotherPID(t *testing.T) {
	n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"}), nil)
	if n.watchdog != 0 {
		t.Fatal("pinging a watchdog meant for another process")
	}
}

func TestHealthCheck(t *testing.T) {
	dir := t.TempDir()
	cat := catalogtest.Open(t, catalog.Options{})
	st, err := staging.Open(filepath.Join(dir, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	free := uint64(50)
	marker := filepath.Join(dir, disk.MarkerName)
	os.WriteFile(marker, nil, 0o644)
	mon := disk.NewMonitor(disk.HealthConfig{
		Volumes: []disk.Volume{{Role: "staging", Path: st.Dir(), Marker: marker}},
		Statfs: func(string) (disk.FSStats, error) {
			return disk.FSStats{TotalBytes: 100, FreeBytes: free}, nil
		},
	})
	check := healthCheck(cat, st, mon)
	mon.Check(t.Context())
	if err := check(); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Partial(); len(p) != 0 {
		t.Fatalf("the check left %v behind", p)
	}
	// A nearly full disk pauses ingest; a restart would not help, and the
	// status page must stay up to say why.
	free = 1
	mon.Check(t.Context())
	if err := check(); err != nil {
		t.Fatalf("critical free space stopped the watchdog: %v", err)
	}
	free = 50
	os.Remove(marker)
	mon.Check(t.Context())
	if err := check(); err == nil || err.Error() != "staging: mount marker missing: the data disk is not mounted" {
		t.Fatalf("unmounted data disk: %v", err)
	}
	os.WriteFile(marker, nil, 0o644)
	mon.Check(t.Context())
	// A file where the temp directory should be fails even for root.
	tmp := filepath.Join(st.Dir(), "tmp")
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := check(); err == nil || !strings.HasPrefix(err.Error(), "staging not writable") {
		t.Fatalf("unwritable staging: %v", err)
	}
	cat.Close()
	if err := check(); err == nil || !strings.HasPrefix(err.Error(), "catalog unreadable") {
		t.Fatalf("closed catalog: %v", err)
	}
}
