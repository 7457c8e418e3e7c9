package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"custodian/hardware/disk"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// notifier tells systemd how the daemon is doing. Outside systemd (no
// NOTIFY_SOCKET) every method does nothing.
type notifier struct {
	socket string
	// watchdog is WatchdogSec, when systemd asks for pings (and asks this process).
	watchdog time.Duration
	log      *slog.Logger
}

func newNotifier(getenv func(string) string, log *slog.Logger) notifier {
	n := notifier{socket: getenv("NOTIFY_SOCKET"), log: log}
	usec, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64)
	if pid := getenv("WATCHDOG_PID"); err == nil && usec > 0 && (pid == "" || pid == strconv.Itoa(os.Getpid())) {
		n.watchdog = time.Duration(usec) * time.Microsecond
	}
	return n
}

func (n notifier) send(state string) {
	if n.socket == "" {
		return
	}
	if err := sdNotify(n.socket, state); err != nil {
		n.log.Warn("cannot notify systemd", "err", err)
	}
}

// Ready says start-up (reconciliation included) is done.
func (n notifier) Ready(status string) { n.send("READY=1\nSTATUS=" + status) }

// Watchdog pings systemd twice per WatchdogSec, but only while check passes:
// a daemon that cannot read its catalog or write its staging is restarted
// rather than left looking alive. It returns when ctx is done.
func (n notifier) Watchdog(ctx context.Context, check func() error) error {
	if n.socket == "" || n.watchdog <= 0 {
		<-ctx.Done()
		n.send("STOPPING=1")
		return nil
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	healthy := true
	for {
		select {
		case <-ctx.Done():
			n.send("STOPPING=1")
			return nil
		case <-t.C:
		}
		if err := check(); err != nil {
			if healthy {
				n.log.Error("health check failed; withholding the systemd watchdog ping", "err", err)
			}
			healthy = false
			n.send("STATUS=unhealthy: " + strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		if !healthy {
			n.log.Info("health check passes again")
			n.send("STATUS=running")
		}
		healthy = true
		n.send("WATCHDOG=1")
	}
}

// healthCheck is the watchdog's proof of life: the catalog answers, staging
// takes a write, and no volume is critical.
func healthCheck(cat *catalog.Catalog, staging *staging.Staging, mon *disk.Monitor) func() error {
	return func() error {
		if _, err := cat.Counts(); err != nil {
			return fmt.Errorf("catalog unreadable: %w", err)
		}
		// Named like a copy's temp file, so start-up removes it after a crash.
		f, err := os.CreateTemp(filepath.Join(staging.Dir(), "tmp"), ".partial-watchdog-*")
		if err != nil {
			return fmt.Errorf("staging not writable: %w", err)
		}
		_, werr := f.Write([]byte{1})
		cerr := f.Close()
		rerr := os.Remove(f.Name())
		if err := errors.Join(werr, cerr, rerr); err != nil {
			return fmt.Errorf("staging not writable: %w", err)
		}
		// A full or failing disk is not cured by a restart: ingest pauses and
		// the status page says why, so it must stay up. Only an unmounted data
		// disk (marker gone) withholds the ping: systemd's restart then waits
		// for the mount (RequiresMountsFor).
		for _, v := range mon.Report().Volumes {
			if v.Marker == "missing" {
				return fmt.Errorf("%s: mount marker missing: the data disk is not mounted", v.Role)
			}
		}
		return nil
	}
}
