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

	"custodian/admin/api"
	"custodian/hardware/clock"
	"custodian/hardware/disk"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"custodian/admin"
	"custodian/ingest"
	"custodian/ingest/dock"
	"custodian/ingest/room"
	"custodian/internal/config"
	"custodian/retention"
	"custodian/storage/catalog"
	"custodian/storage/export"
	"custodian/storage/staging"
	"custodian/storage/upload"
)

const defaultConfigPath = "/etc/custodian/custodian.yaml"

// serve runs the daemon. It reads top to bottom like the architecture: load
// config, open catalog and staging, reconcile, build the archive, sources
// and retention, serve admin, then run every part under the supervisor,
// which stops them in reverse order: intake first, the catalog closes last.
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
	log := cfg.Log.Logger(stderr)
	st, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	defer st.cat.Close()
	// The first samples are taken before the sources start, so a critical
	// volume holds back the very first copy, and an untrusted clock the
	// first deletion.
	monitor := disk.NewMonitor(cfg.Health(log))
	monitor.Check(ctx)
	stationClock := clock.New(cfg.ClockMonitor(log))
	stationClock.Check()
	reg := newRegistry()
	sup := newSupervisor(log, reg)

	arch, err := buildArchive(cfg, st, reg, log)
	if err != nil {
		return err
	}
	keeper := retention.New(retention.Config{Policy: cfg.RetentionPolicy(), Rooms: roomIDs(cfg), Devices: cfg.DeviceTable(),
		Clock: stationClock.Trusted},
		st.cat, st.stage, arch.retention, log, retention.NewMetrics(reg))
	env := ingest.Env{
		Station:  cfg.Station,
		Location: cfg.Location(),
		Devices:  cfg.DeviceTable(),
		Catalog:  st.cat,
		Staging:  st.stage,
		Log:      log,
		Metrics:  ingest.NewMetrics(reg),
		// Docks pause on a critical disk, or when retention cannot free
		// space; cameras keep their footage meanwhile.
		Paused: func() bool { return monitor.Critical() || keeper.Short() },
	}
	docks := buildDocks(cfg, env)
	rooms, err := buildRooms(cfg, env, reg)
	if err != nil {
		return err
	}
	pushes, err := room.Servers(rooms, log)
	if err != nil {
		return err
	}
	srv, ln, sock, err := buildAdmin(cfg, st, arch, keeper, watched{monitor, stationClock}, docks, rooms, sup, reg, log)
	if err != nil {
		return err
	}

	sd := newNotifier(os.Getenv, log)
	base := []part{
		{name: "admin", kind: "admin", vital: true, run: func(ctx context.Context) error { return serveAdmin(ctx, srv, ln, sock) }},
		{name: "storage monitor", kind: "monitor", run: monitor.Run},
		{name: "clock", kind: "clock", run: stationClock.Run},
		{name: "watchdog", kind: "watchdog", run: func(ctx context.Context) error {
			return sd.Watchdog(ctx, healthCheck(st.cat, st.stage, monitor))
		}},
	}
	log.Info("custodian started", "version", version, "station", cfg.Station,
		"docks", len(docks), "rooms", len(rooms), "archive", arch.uploader != nil, "admin", ln.Addr().String(), "data_dir", cfg.DataDir)
	sd.Ready(fmt.Sprintf("running: %d docks, %d rooms, admin on %s", len(docks), len(rooms), ln.Addr()))
	err = sup.run(ctx, base, processing(cfg, st, arch, keeper, reg, log), intake(docks, rooms, pushes))
	log.Info("custodian stopped")
	return err
}

// store is what the daemon keeps: the catalog, the staging area, and what
// start-up found when it brought them into agreement.
type store struct {
	cat    *catalog.Catalog
	stage  *staging.Staging
	report staging.ReconcileReport
	rule   api.Rule // the retention rule in force, and since when
}

// openStore opens catalog and staging on the data disk and reconciles them.
func openStore(cfg *config.Config, log *slog.Logger) (store, error) {
	// Without its marker the data disk is not mounted: writing now would
	// fill the root filesystem with evidence nobody will find.
	if cfg.Storage.RequireMarker {
		if err := disk.CheckMarker(filepath.Join(cfg.DataDir, disk.MarkerName)); err != nil {
			return store{}, err
		}
	}
	cat, err := catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{})
	if err != nil {
		return store{}, err
	}
	st := store{cat: cat}
	err = func() error {
		if st.stage, err = staging.Open(filepath.Join(cfg.DataDir, "staging")); err != nil {
			return err
		}
		if st.report, err = staging.Reconcile(cat, st.stage, log); err != nil {
			return err
		}
		// A change of the retention rule is a custody event of its own.
		if _, err = cat.NoteSetting("retention", cfg.RetentionSummary()); err != nil {
			return err
		}
		st.rule.Rule, st.rule.Since, err = cat.Setting("retention")
		return err
	}()
	if err != nil {
		cat.Close()
		return store{}, err
	}
	return st, nil
}

// newRegistry is the daemon's own metrics registry, with the Go and
// process collectors and custodian_build_info.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "custodian_build_info",
		Help: "Always 1; labels give the custodian version and Go version.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(buildInfo)
	return reg
}

// archiveParts is the archive as the daemon uses it; all nil in local-only mode.
type archiveParts struct {
	uploader  *upload.Uploader
	retention retention.Archive
	store     upload.Lister
	audit     *upload.Progress // the audit verifier's, for the status
}

func buildArchive(cfg *config.Config, st store, reg prometheus.Registerer, log *slog.Logger) (archiveParts, error) {
	if cfg.Archive == nil {
		return archiveParts{}, nil
	}
	a, err := openArchive(cfg)
	if err != nil {
		return archiveParts{}, err
	}
	up, err := newUploader(cfg, a, st.cat, st.stage, upload.NewMetrics(reg), log)
	if err != nil {
		return archiveParts{}, err
	}
	return archiveParts{uploader: up, retention: a, store: a, audit: &upload.Progress{}}, nil
}

func roomIDs(cfg *config.Config) []string {
	var ids []string
	for _, r := range cfg.Rooms {
		ids = append(ids, r.ID)
	}
	return ids
}

func buildDocks(cfg *config.Config, env ingest.Env) []*dock.Dock {
	var docks []*dock.Dock
	for _, d := range cfg.Docks {
		docks = append(docks, dock.New(dock.Config{
			ID:                d.ID,
			Path:              d.Path,
			Profile:           cfg.Profile(d.Profile),
			DeleteAfterIngest: *d.DeleteAfterIngest,
			Settle:            d.Settle.D(),
			ScanInterval:      d.ScanInterval.D(),
			Copies:            d.Copies,
			MaxClockOffset:    d.MaxClockOffset.D(),
			MaxDepth:          d.MaxDepth,
		}, env))
	}
	return docks
}

// watched is the station's hardware as the daemon watches it: its storage
// and its clock.
type watched struct {
	disk  *disk.Monitor
	clock *clock.Monitor
}

// buildAdmin listens on the admin address and builds the API and status
// page over every part of the daemon.
func buildAdmin(cfg *config.Config, st store, arch archiveParts, keeper *retention.Manager, hw watched,
	docks []*dock.Dock, rooms roomSet, sup *supervisor, reg *prometheus.Registry, log *slog.Logger) (*admin.Server, net.Listener, net.Listener, error) {
	users, token, err := adminUsers(cfg.Admin)
	if err != nil {
		return nil, nil, nil, err
	}
	tlsConfig, err := adminTLS(cfg.Admin)
	if err != nil {
		return nil, nil, nil, configError{err}
	}
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("admin listen: %w", err)
	}
	sock, err := listenSocket(cfg.Admin.Socket)
	if err != nil {
		ln.Close()
		return nil, nil, nil, err
	}
	srv := admin.New(admin.Config{
		Station:   cfg.Station,
		Version:   version,
		Location:  cfg.Location(),
		Health:    hw.disk.Report,
		Clock:     hw.clock.State,
		Users:     users,
		Token:     token,
		Retention: retentionAPI{keeper, st.cat, arch.store, cfg.Station},
		Rule:      &st.rule,
		TLS:       tlsConfig,
		Status:    sources(docks, rooms, st.report, sup, arch.audit),
		Rooms:     rooms,
		Export: &export.Exporter{Catalog: st.cat, Blobs: st.stage, Store: arch.store, Station: cfg.Station,
			TempDir: filepath.Join(cfg.DataDir, "export-tmp")},
		ExportGate: admin.TwoPersonExport(st.cat),
	}, st.cat, reg, log)
	return srv, ln, sock, nil
}

// processing are the parts that move what was taken in: uploads, retention,
// scrubbing, the custody trail's shipping. They stop after intake.
func processing(cfg *config.Config, st store, arch archiveParts, keeper *retention.Manager, reg prometheus.Registerer, log *slog.Logger) []part {
	scrub := staging.Scrubber{Catalog: st.cat, Staging: st.stage, Interval: cfg.Storage.ScrubInterval.D(),
		Pause: 10 * time.Millisecond, Log: log, Failures: staging.NewScrubFailures(reg)}
	parts := []part{
		{name: "retention", kind: "retention", run: keeper.Run},
		{name: "scrub", kind: "scrub", run: scrub.Run},
	}
	if arch.uploader != nil {
		policy := cfg.RetentionPolicy()
		shipper := upload.AuditShipper{Catalog: st.cat, Store: arch.store, Station: cfg.Station, Interval: 5 * time.Minute,
			RetainUntil: func(t time.Time) time.Time {
				return policy.RetainUntil(&catalog.Recording{StartedAt: t, ReceivedAt: t})
			}, Log: log}
		verifier := upload.AuditVerifier{Catalog: st.cat, Store: arch.store, Station: cfg.Station,
			Log: log, Metrics: upload.NewAuditMetrics(reg), Progress: arch.audit}
		parts = append(parts,
			part{name: "uploader", kind: "uploader", run: arch.uploader.Run},
			part{name: "audit shipper", kind: "audit", run: shipper.Run},
			part{name: "audit verifier", kind: "audit", run: verifier.Run})
	}
	return parts
}

// intake are the sources: docks, interview rooms and the RTSP servers the
// rooms whose recorders push listen with. They stop first, so nothing new
// arrives while the rest shuts down. A push server that fails is a room
// that cannot record.
func intake(docks []*dock.Dock, rooms roomSet, pushes []*room.Server) []part {
	var parts []part
	for _, d := range docks {
		parts = append(parts, part{name: "dock " + d.ID(), kind: "dock", run: d.Run})
	}
	for _, r := range rooms {
		parts = append(parts, part{name: "room " + r.ID(), kind: "room", run: r.Run})
	}
	for _, s := range pushes {
		parts = append(parts, part{name: "room push server " + s.Addr(), kind: "room", run: s.Run})
	}
	return parts
}
