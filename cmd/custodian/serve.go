package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"custodian/hardware/camera"
	"custodian/hardware/disk"
	"custodian/storage/archive"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"custodian/admin"
	"custodian/ingest"
	"custodian/internal/config"
	"custodian/retention"
	"custodian/storage/catalog"
	"custodian/storage/staging"
	"custodian/storage/upload"
)

const defaultConfigPath = "/etc/custodian/custodian.yaml"

// serve runs the daemon. It reads top to bottom like the architecture: load
// config, open catalog and staging, reconcile, start sources, serve admin.
// Shutdown runs in reverse: intake stops first, the catalog closes last.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	profiles, err := camera.NewProfiles(cfg.Profiles)
	if err != nil {
		return configError{err} // validated already; kept for safety
	}

	// Without its marker the data disk is not mounted: writing now would
	// fill the root filesystem with evidence nobody will find.
	if cfg.Storage.RequireMarker {
		if err := disk.CheckMarker(filepath.Join(cfg.DataDir, disk.MarkerName)); err != nil {
			return err
		}
	}
	cat, err := catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{})
	if err != nil {
		return err
	}
	defer cat.Close()
	stage, err := staging.Open(filepath.Join(cfg.DataDir, "staging"))
	if err != nil {
		return err
	}
	report, err := staging.Reconcile(cat, stage, log)
	if err != nil {
		return err
	}
	// A change of the retention rule is a custody event of its own.
	if _, err := cat.NoteSetting("retention", cfg.RetentionSummary()); err != nil {
		return err
	}
	// The first sample is taken before the sources start, so a critical
	// volume holds back the very first copy.
	monitor := disk.NewMonitor(cfg.Health(log))
	monitor.Check(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "custodian_build_info",
		Help: "Always 1; labels give the custodian version and Go version.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(buildInfo)
	metrics := ingest.NewMetrics(reg)

	var uploader *upload.Uploader // nil: local-only mode
	var arch retention.Archive
	var store archive.ObjectStore
	if cfg.Archive != nil {
		a, err := openArchive(cfg)
		if err != nil {
			return err
		}
		if uploader, err = newUploader(cfg, a, cat, stage, upload.NewMetrics(reg), log); err != nil {
			return err
		}
		arch, store = a, a
	}
	var roomIDs []string
	for _, r := range cfg.Rooms {
		roomIDs = append(roomIDs, r.ID)
	}
	keeper := retention.New(retention.Config{Policy: cfg.RetentionPolicy(), Rooms: roomIDs}, cat, stage, arch, log, retention.NewMetrics(reg))

	env := ingest.Env{
		Station:  cfg.Station,
		Location: cfg.Location(),
		Devices:  cfg.DeviceTable(),
		Catalog:  cat,
		Staging:  stage,
		Log:      log,
		Metrics:  metrics,
		// Docks pause on a critical disk, or when retention cannot free
		// space; cameras keep their footage meanwhile.
		Paused: func() bool { return monitor.Critical() || keeper.Short() },
	}
	var docks []*ingest.Dock
	for _, d := range cfg.Docks {
		docks = append(docks, ingest.NewDock(ingest.DockConfig{
			ID:                d.ID,
			Path:              d.Path,
			Profile:           profiles[d.Profile],
			DeleteAfterIngest: *d.DeleteAfterIngest,
			Settle:            d.Settle.D(),
			ScanInterval:      d.ScanInterval.D(),
			Copies:            d.Copies,
		}, env))
	}

	rooms, err := buildRooms(cfg, env, reg)
	if err != nil {
		return err
	}

	var token string
	if cfg.Admin.TokenFile != "" {
		if token, err = cfg.Admin.ReadToken(); err != nil {
			return configError{err}
		}
	}
	tlsConfig, err := adminTLS(cfg.Admin)
	if err != nil {
		return configError{err}
	}
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return fmt.Errorf("admin listen: %w", err)
	}
	srv := admin.New(admin.Config{
		Station:   cfg.Station,
		Version:   version,
		Location:  cfg.Location(),
		Health:    monitor.Report,
		Token:     token,
		Retention: retentionAPI{keeper, cat, store},
		TLS:       tlsConfig,
		Status: func() map[string]any {
			st := make([]ingest.DockStatus, 0, len(docks))
			for _, d := range docks {
				st = append(st, d.Status())
			}
			return map[string]any{"docks": st, "rooms": rooms.Status(), "reconcile": report}
		},
		Rooms: rooms,
	}, cat, reg, log)

	sd := newNotifier(os.Getenv, log)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return monitor.Run(gctx) })
	g.Go(func() error { return sd.Watchdog(gctx, healthCheck(cat, stage, monitor)) })
	for _, d := range docks {
		g.Go(func() error { return d.Run(gctx) })
	}
	if uploader != nil {
		g.Go(func() error { return uploader.Run(gctx) })
	}
	g.Go(func() error { return keeper.Run(gctx) })
	scrub := staging.Scrubber{Catalog: cat, Staging: stage, Interval: cfg.Storage.ScrubInterval.D(),
		Pause: 10 * time.Millisecond, Log: log, Failures: staging.NewScrubFailures(reg)}
	g.Go(func() error { return scrub.Run(gctx) })
	if store != nil {
		shipper := upload.AuditShipper{Catalog: cat, Store: store, Station: cfg.Station, Interval: 5 * time.Minute,
			Lock: cfg.Retention.Standard.AddTo(time.Now(), time.UTC).Sub(time.Now()), Log: log}
		g.Go(func() error { return shipper.Run(gctx) })
	}
	for _, r := range rooms {
		g.Go(func() error { return r.Run(gctx) })
	}
	g.Go(func() error { return srv.Serve(gctx, ln) })
	log.Info("custodian started", "version", version, "station", cfg.Station,
		"docks", len(docks), "rooms", len(rooms), "archive", uploader != nil, "admin", ln.Addr().String(), "data_dir", cfg.DataDir)
	sd.Ready(fmt.Sprintf("running: %d docks, %d rooms, admin on %s", len(docks), len(rooms), ln.Addr()))
	err = g.Wait()
	log.Info("custodian stopped")
	return err
}

func newLogger(c config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
