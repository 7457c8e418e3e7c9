// Package config owns custodian.yaml: it decodes the file strictly into a
// typed Config on top of Defaults and reports every problem at once by key path.
package config

import (
	"io"
	"log/slog"

	"github.com/dustin/go-humanize"

	"custodian/hardware/camera"
	"custodian/hardware/clock"
	"custodian/hardware/disk"
	"custodian/ingest/dock"
	"custodian/ingest/room"
	"custodian/retention"
	"custodian/storage/archive"
	"custodian/storage/staging"
	"custodian/storage/upload"
)

// Config is custodian.yaml. Its key names are a contract that outside scripts
// rely on: extend, never rename. It holds no secret, only the names of the
// files that do (see ReadSecrets), so it may be printed.
type Config struct {
	Station  string               `yaml:"station"`
	DataDir  string               `yaml:"data_dir"`
	Timezone Zone                 `yaml:"timezone"`
	Admin    AdminConfig          `yaml:"admin"`
	Storage  StorageConfig        `yaml:"storage"`
	Clock    ClockConfig          `yaml:"clock"`
	Log      LogConfig            `yaml:"log"`
	Docks    []DockConfig         `yaml:"docks"`
	Devices  []DeviceConfig       `yaml:"devices"`
	Profiles []camera.ProfileSpec `yaml:"profiles"`
	Rooms    []RoomConfig         `yaml:"rooms"`
	// Archive is the S3-compatible archive; absent means local-only mode.
	Archive   *ArchiveConfig  `yaml:"archive"`
	Retention RetentionConfig `yaml:"retention"`

	compiled camera.Profiles // built-ins and Profiles, compiled by validation
}

// Profile is the compiled file-name profile a dock names; validation made
// sure it exists.
func (c *Config) Profile(name string) *camera.Profile { return c.compiled[name] }

// ArchiveConfig is the archive section. Credentials come only from files.
type ArchiveConfig struct {
	Endpoint      string `yaml:"endpoint"` // host:port, no scheme
	Bucket        string `yaml:"bucket"`
	AccessKeyFile string `yaml:"access_key_file"`
	SecretKeyFile string `yaml:"secret_key_file"`
	Secure        bool   `yaml:"secure"`  // TLS
	CAFile        string `yaml:"ca_file"` // PEM of a private CA, with secure: true
	MaxUploads    int    `yaml:"max_uploads"`
	// PartSize is the single-PUT limit and the multipart part size ("32MiB").
	PartSize Size `yaml:"part_size"`
	// BandwidthLimit caps upload reads in bytes per second ("20MB"); empty: none.
	BandwidthLimit Size `yaml:"bandwidth_limit"`
}

// RetentionConfig is the retention section.
type RetentionConfig struct {
	// Standard is how long every recording is kept at least, in calendar
	// months or years; never shorter than six months.
	Standard Standard `yaml:"standard"`
	// LocalKeep is how long a staged copy stays after the archive holds it, verified.
	LocalKeep Duration `yaml:"local_keep"`
	// Grace separates marking an expired recording deleted from deleting it.
	Grace Duration `yaml:"grace"`
	// MinFree is the staging space to keep free ("50GiB"); under it archived
	// copies are evicted early, and when nothing is left to evict docks
	// pause so the rest stays a reserve for interview rooms. "0" disables.
	MinFree Size `yaml:"min_free"`
}

// AdminConfig is the admin HTTP surface.
type AdminConfig struct {
	Listen string `yaml:"listen"`
	// UsersFile lists who may use the API and status page, one user a
	// line: "name role bcrypt-hash" (custodian user add writes it). A secret
	// file: only its owner may read it (under systemd: a LoadCredential path).
	UsersFile string `yaml:"users_file"`
	// Socket is a Unix socket where the CLI on this server authenticates by
	// its Linux account (SO_PEERCRED): the custodian user of the same name.
	// Mode 0660, so the daemon's group may connect.
	Socket string `yaml:"socket"`
	// TokenFile holds the deprecated shared bearer token: it acts as the
	// supervisor "shared-token". Kept for one release; use UsersFile.
	TokenFile string `yaml:"token_file"`
	// TLSCertFile and TLSKeyFile, both or neither, switch the API to HTTPS.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
}

// StorageConfig is how custodian watches the disks it writes to.
type StorageConfig struct {
	// RequireMarker makes custodian refuse to start, and pause ingest, while
	// data_dir/.custodian-volume is missing: the data disk is not mounted.
	RequireMarker bool `yaml:"require_marker"`
	// FreeWarningPercent and FreeCriticalPercent grade free space and inodes;
	// ingest pauses while a volume is critical.
	FreeWarningPercent  float64  `yaml:"free_warning_percent"`
	FreeCriticalPercent float64  `yaml:"free_critical_percent"`
	CheckInterval       Duration `yaml:"check_interval"`
	// ScrubInterval is how often every staged copy is read back and hashed
	// again; a copy that no longer matches is recorded, never trusted.
	ScrubInterval Duration `yaml:"scrub_interval"`
}

// ClockConfig is how custodian judges the station's own clock, which every
// receipt time and retention date comes from. While it is not trusted,
// retention evicts, expires and deletes nothing.
type ClockConfig struct {
	// RequireSync: the kernel must report the clock synchronised by NTP
	// (chrony, ntpd, systemd-timesyncd). false only where there is none, a
	// test rig: steps of the clock are still caught.
	RequireSync bool `yaml:"require_sync"`
	// MaxError is the largest error bound the kernel may report.
	MaxError Duration `yaml:"max_error"`
	// MaxStep is how far the clock may jump, back or forward, between two
	// checks before it counts as a step.
	MaxStep       Duration `yaml:"max_step"`
	CheckInterval Duration `yaml:"check_interval"`
}

// Logger is the logger this section asks for, writing to w.
func (l LogConfig) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	}[l.Level]} // validated: one of these
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// LogConfig chooses the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// DockConfig is one docking station.
type DockConfig struct {
	ID                string   `yaml:"id"`
	Path              string   `yaml:"path"`
	Profile           string   `yaml:"profile"`
	DeleteAfterIngest *bool    `yaml:"delete_after_ingest"`
	Settle            Duration `yaml:"settle"`
	ScanInterval      Duration `yaml:"scan_interval"`
	Copies            int      `yaml:"copies"`
	MaxClockOffset    Duration `yaml:"max_clock_offset"`
	MaxDepth          int      `yaml:"max_depth"`
}

// RoomConfig is one interview room's RTSP feed. The URL carries the
// camera's credentials, so production configs name a file holding it
// (url_file, read by ReadSecrets); url is for tests without secrets.
// A room whose recorder pushes its stream has listen instead, and the
// user:password the recorder must present in credentials_file.
type RoomConfig struct {
	ID      string `yaml:"id"`
	URLFile string `yaml:"url_file"`
	URL     Secret `yaml:"url"`
	// Listen is rtsp://host:port/path, where the recorder pushes (ANNOUNCE,
	// RECORD); the rooms on one host:port share one RTSP server.
	Listen          string   `yaml:"listen"`
	CredentialsFile string   `yaml:"credentials_file"`
	Transport       string   `yaml:"transport"`
	Segment         Duration `yaml:"segment"`
	// AlertAfter is how long the room may go without recording before the
	// status alerts (a warning that names the reason).
	AlertAfter Duration `yaml:"alert_after"`
	// MaxDrift flags a segment whose media time and arrival time differ by more.
	MaxDrift Duration `yaml:"max_drift"`
}

// DeviceConfig is a row of the devices table; from/to are optional dates or
// RFC 3339 times bounding when the officer had the camera.
type DeviceConfig struct {
	Serial  string `yaml:"serial"`
	Officer string `yaml:"officer"`
	From    When   `yaml:"from"`
	To      When   `yaml:"to"`
}

// Defaults of the config file; configs/custodian.yaml documents each.
const (
	DefaultDataDir  = "/var/lib/custodian"
	DefaultListen   = "127.0.0.1:9420"
	DefaultTimezone = "Local"
	DefaultProfile  = "gat947"
)

// Defaults returns the config every file is decoded on top of.
func Defaults() Config {
	return Config{
		DataDir:  DefaultDataDir,
		Timezone: must(parseZone(DefaultTimezone)),
		Admin:    AdminConfig{Listen: DefaultListen},
		Retention: RetentionConfig{
			Standard:  must(parseStandard(retention.DefaultStandard)),
			LocalKeep: Duration{text: "7d", d: retention.DefaultLocalKeep},
			Grace:     Duration{text: "7d", d: retention.DefaultGrace},
			MinFree:   Size{text: "0"},
		},
		Storage: StorageConfig{
			FreeWarningPercent:  100 * disk.DefaultFreeWarning,
			FreeCriticalPercent: 100 * disk.DefaultFreeCritical,
			CheckInterval:       durationOf(disk.DefaultHealthInterval),
			ScrubInterval:       Duration{text: "24h", d: staging.DefaultScrubInterval},
		},
		Clock: ClockConfig{
			RequireSync:   true,
			MaxError:      durationOf(clock.DefaultMaxError),
			MaxStep:       durationOf(clock.DefaultMaxStep),
			CheckInterval: durationOf(clock.DefaultInterval),
		},
		Log: LogConfig{Level: "info", Format: "text"},
	}
}

// The defaults of list entries and of the archive section fill what an
// entry left out (unset, or given as ""), after decoding.

func archiveDefaults(a *ArchiveConfig) {
	if a.MaxUploads == 0 {
		a.MaxUploads = upload.DefaultMaxUploads
	}
	if !a.PartSize.set() {
		a.PartSize = Size{text: humanize.IBytes(archive.DefaultPartSize), n: archive.DefaultPartSize}
	}
}

func dockDefaults(d *DockConfig) {
	if d.Profile == "" {
		d.Profile = DefaultProfile
	}
	if d.DeleteAfterIngest == nil {
		t := true
		d.DeleteAfterIngest = &t
	}
	if !d.Settle.set() {
		d.Settle = durationOf(dock.DefaultSettle)
	}
	if !d.ScanInterval.set() {
		d.ScanInterval = durationOf(dock.DefaultScanInterval)
	}
	if d.Copies == 0 {
		d.Copies = dock.DefaultCopies
	}
	if !d.MaxClockOffset.set() {
		d.MaxClockOffset = Duration{text: "5m", d: dock.DefaultMaxClockOffset}
	}
	if d.MaxDepth == 0 {
		d.MaxDepth = dock.DefaultMaxDepth
	}
}

func roomDefaults(r *RoomConfig) {
	if r.Transport == "" {
		r.Transport = room.TransportTCP
	}
	if !r.Segment.set() {
		r.Segment = Duration{text: "10m", d: room.DefaultSegmentDuration}
	}
	if !r.AlertAfter.set() {
		r.AlertAfter = Duration{text: "1m", d: room.DefaultAlertAfter}
	}
	if !r.MaxDrift.set() {
		r.MaxDrift = Duration{text: "2s", d: room.DefaultMaxDrift}
	}
}
