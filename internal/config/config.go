// Package config owns custodian.yaml: it decodes the file strictly into a
// typed Config on top of Defaults and reports every problem at once by key path.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"gopkg.in/yaml.v3"

	"custodian/hardware/camera"
	"custodian/hardware/disk"
	"custodian/ingest"
	"custodian/internal/text"
	"custodian/retention"
	"custodian/storage/archive"
	"custodian/storage/staging"
	"custodian/storage/upload"
)

// Config is custodian.yaml. Its key names are a contract that outside scripts
// rely on: extend, never rename.
type Config struct {
	Station  string               `yaml:"station"`
	DataDir  string               `yaml:"data_dir"`
	Timezone string               `yaml:"timezone"`
	Admin    AdminConfig          `yaml:"admin"`
	Storage  StorageConfig        `yaml:"storage"`
	Log      LogConfig            `yaml:"log"`
	Docks    []DockConfig         `yaml:"docks"`
	Devices  []DeviceConfig       `yaml:"devices"`
	Profiles []camera.ProfileSpec `yaml:"profiles"`
	Rooms    []RoomConfig         `yaml:"rooms"`
	// Archive is the S3-compatible archive; absent means local-only mode.
	Archive   *ArchiveConfig  `yaml:"archive"`
	Retention RetentionConfig `yaml:"retention"`
}

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
	PartSize string `yaml:"part_size"`
	// BandwidthLimit caps upload reads in bytes per second ("20MB"); empty: none.
	BandwidthLimit string `yaml:"bandwidth_limit"`
}

// RetentionConfig is the retention section.
type RetentionConfig struct {
	// Standard is how long every recording is kept at least, in calendar
	// months or years; never shorter than six months.
	Standard string `yaml:"standard"`
	// LocalKeep is how long a staged copy stays after the archive holds it, verified.
	LocalKeep Duration `yaml:"local_keep"`
	// Grace separates marking an expired recording deleted from deleting it.
	Grace Duration `yaml:"grace"`
	// MinFree is the staging space to keep free ("50GiB"); under it archived
	// copies are evicted early, and when nothing is left to evict docks
	// pause so the rest stays a reserve for interview rooms. "0" disables.
	MinFree string `yaml:"min_free"`
}

// AdminConfig is the admin HTTP surface.
type AdminConfig struct {
	Listen string `yaml:"listen"`
	// TokenFile holds the bearer token every mutating API call must carry
	// (under systemd: a LoadCredential path). Without it the API is read-only.
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
}

// RoomConfig is one interview room's RTSP feed. The URL carries the
// camera's credentials, so production configs name a file holding it
// (url_file, read at start); url is for tests without secrets.
type RoomConfig struct {
	ID        string   `yaml:"id"`
	URLFile   string   `yaml:"url_file"`
	URL       string   `yaml:"url"`
	Transport string   `yaml:"transport"`
	Segment   Duration `yaml:"segment"`
}

// MinRoomSegment is the shortest segment a room may be configured with.
const MinRoomSegment = 10 * time.Second

// roomDefaults fills what a room entry left out.
func roomDefaults(r *RoomConfig) {
	if r.Transport == "" {
		r.Transport = ingest.TransportTCP
	}
	if r.Segment.raw == "" {
		r.Segment = Duration{raw: "10m", d: ingest.DefaultSegmentDuration}
	}
}

// FeedURL returns the room's URL, reading url_file when set. The error
// never contains the file's content.
func (r RoomConfig) FeedURL() (string, error) {
	if r.URL != "" {
		return r.URL, nil
	}
	b, err := os.ReadFile(r.URLFile)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// DeviceConfig is a row of the devices table; from/to are optional dates or
// RFC 3339 times bounding when the officer had the camera.
type DeviceConfig struct {
	Serial  string `yaml:"serial"`
	Officer string `yaml:"officer"`
	From    string `yaml:"from"`
	To      string `yaml:"to"`
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
		Timezone: DefaultTimezone,
		Admin:    AdminConfig{Listen: DefaultListen},
		Retention: RetentionConfig{
			Standard:  retention.DefaultStandard,
			LocalKeep: Duration{raw: "7d", d: retention.DefaultLocalKeep},
			Grace:     Duration{raw: "7d", d: retention.DefaultGrace},
			MinFree:   "0",
		},
		Storage: StorageConfig{
			FreeWarningPercent:  100 * disk.DefaultFreeWarning,
			FreeCriticalPercent: 100 * disk.DefaultFreeCritical,
			CheckInterval:       Duration{raw: disk.DefaultHealthInterval.String(), d: disk.DefaultHealthInterval},
			ScrubInterval:       Duration{raw: "24h", d: staging.DefaultScrubInterval},
		},
		Log: LogConfig{Level: "info", Format: "text"},
	}
}

// archiveDefaults fills what the archive section left out.
func archiveDefaults(a *ArchiveConfig) {
	if a.MaxUploads == 0 {
		a.MaxUploads = upload.DefaultMaxUploads
	}
	if a.PartSize == "" {
		a.PartSize = humanize.IBytes(archive.DefaultPartSize)
	}
}

// dockDefaults fills what a dock entry left out.
func dockDefaults(d *DockConfig) {
	if d.Profile == "" {
		d.Profile = DefaultProfile
	}
	if d.DeleteAfterIngest == nil {
		t := true
		d.DeleteAfterIngest = &t
	}
	if d.Settle.raw == "" {
		d.Settle = Duration{raw: ingest.DefaultSettle.String(), d: ingest.DefaultSettle}
	}
	if d.ScanInterval.raw == "" {
		d.ScanInterval = Duration{raw: ingest.DefaultScanInterval.String(), d: ingest.DefaultScanInterval}
	}
	if d.Copies == 0 {
		d.Copies = ingest.DefaultCopies
	}
}

// Load reads, decodes strictly and validates a config file. The error
// lists every problem found, each with its key path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return cfg, nil
}

// Parse decodes and validates config text.
func Parse(b []byte) (*Config, error) {
	cfg := Defaults()
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("  the file is empty")
		}
		return nil, fmt.Errorf("  %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("  more than one YAML document")
	}
	problems := unknownKeys(&doc, reflect.TypeOf(cfg), "")
	if err := doc.Decode(&cfg); err != nil {
		problems = append(problems, yamlProblems(err)...)
	}
	// Validate even when keys were unknown: every problem at once.
	for i := range cfg.Docks {
		dockDefaults(&cfg.Docks[i])
	}
	for i := range cfg.Rooms {
		roomDefaults(&cfg.Rooms[i])
	}
	if cfg.Archive != nil {
		archiveDefaults(cfg.Archive)
	}
	problems = append(problems, cfg.validate()...)
	if len(problems) > 0 {
		return nil, problemList(problems)
	}
	return &cfg, nil
}

// problemList is every config problem, one per line.
type problemList []string

func (p problemList) Error() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  " + s)
	}
	return b.String()
}

func yamlProblems(err error) []string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return te.Errors
	}
	return []string{err.Error()}
}

// unknownKeys walks the document beside the Go type and names every key the
// type does not have, by its key path.
func unknownKeys(n *yaml.Node, t reflect.Type, path string) []string {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return unknownKeys(n.Content[0], t, path)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			p := joinPath(path, key)
			ft, ok := fields[key]
			if !ok {
				out = append(out, fmt.Sprintf("%s: unknown key (line %d)%s", p, n.Content[i].Line, suggest(key, fields)))
				continue
			}
			out = append(out, unknownKeys(n.Content[i+1], ft, p)...)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			out = append(out, unknownKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func suggest(key string, fields map[string]reflect.Type) string {
	var names []string
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if closeTo(key, f) {
			return fmt.Sprintf("; did you mean %q?", f)
		}
	}
	return ""
}

// closeTo is true for a one-edit typo.
func closeTo(a, b string) bool {
	if a == b || len(a)-len(b) > 1 || len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[min(i+1, len(a)):] == b[min(i+1, len(b)):] || a[i:] == b[min(i+1, len(b)):] || a[min(i+1, len(a)):] == b[i:]
}

func (c *Config) validate() []string {
	var p []string
	add := func(path, format string, args ...any) { p = append(p, path+": "+fmt.Sprintf(format, args...)) }
	if c.Station == "" {
		add("station", "required (the station id that goes into every record)")
	} else if !text.ValidID(c.Station) {
		add("station", "%q: want 1-32 letters, digits, '.', '_' or '-'", c.Station)
	}
	if c.DataDir == "" {
		add("data_dir", "required")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		add("timezone", "%q: %v", c.Timezone, err)
	}
	if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
		add("admin.listen", "%q: want host:port", c.Admin.Listen)
	}
	if (c.Admin.TLSCertFile == "") != (c.Admin.TLSKeyFile == "") {
		add("admin.tls_cert_file", "give both tls_cert_file and tls_key_file, or neither")
	}
	if st := c.Storage; !(0 < st.FreeCriticalPercent && st.FreeCriticalPercent < st.FreeWarningPercent && st.FreeWarningPercent < 100) {
		add("storage.free_critical_percent", "want 0 < free_critical_percent (%g) < free_warning_percent (%g) < 100",
			st.FreeCriticalPercent, st.FreeWarningPercent)
	}
	if msg := c.Storage.CheckInterval.check(time.Second); msg != "" {
		add("storage.check_interval", "%s", msg)
	}
	if msg := c.Storage.ScrubInterval.check(time.Minute); msg != "" {
		add("storage.scrub_interval", "%s", msg)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format", "%q: want text or json", c.Log.Format)
	}
	profiles, err := camera.NewProfiles(c.Profiles)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			add("profiles", "%s", line)
		}
	}
	ids := map[string]int{}
	for i, d := range c.Docks {
		at := fmt.Sprintf("docks[%d]", i)
		switch {
		case d.ID == "":
			add(at+".id", "required")
		case !text.ValidID(d.ID):
			add(at+".id", "%q: want 1-32 letters, digits, '.', '_' or '-'", d.ID)
		default:
			if j, dup := ids[d.ID]; dup {
				add(at+".id", "duplicate dock id %q (also docks[%d])", d.ID, j)
			}
			ids[d.ID] = i
		}
		if d.Path == "" {
			add(at+".path", "required")
		} else if fi, err := os.Stat(d.Path); err != nil {
			add(at+".path", "%s: %v", d.Path, errors.Unwrap(err))
		} else if !fi.IsDir() {
			add(at+".path", "%s: not a directory", d.Path)
		} else if c.DataDir != "" && overlaps(d.Path, c.DataDir) {
			add(at+".path", "%s overlaps data_dir %s: custodian would ingest its own staging", d.Path, c.DataDir)
		}
		if _, ok := profiles[d.Profile]; !ok && err == nil {
			add(at+".profile", "%q: unknown profile (built in: gat947, generic; or define it under profiles)", d.Profile)
		}
		if msg := d.Settle.check(0); msg != "" {
			add(at+".settle", "%s", msg)
		}
		if msg := d.ScanInterval.check(time.Second); msg != "" {
			add(at+".scan_interval", "%s", msg)
		}
		if d.Copies < 1 || d.Copies > 16 {
			add(at+".copies", "%d: want 1 to 16", d.Copies)
		}
	}
	p = append(p, c.validateRooms()...)
	for i, d := range c.Devices {
		at := fmt.Sprintf("devices[%d]", i)
		if !text.ValidID(d.Serial) {
			add(at+".serial", "%q: want 1-32 letters, digits, '.', '_' or '-'", d.Serial)
		}
		if !text.ValidID(d.Officer) {
			add(at+".officer", "%q: want 1-32 letters, digits, '.', '_' or '-'", d.Officer)
		}
		for _, f := range []struct{ key, v string }{{"from", d.From}, {"to", d.To}} {
			if _, err := parseWhen(f.v, time.UTC); err != nil {
				add(at+"."+f.key, "%v", err)
			}
		}
	}
	if msg := c.Retention.LocalKeep.check(0); msg != "" {
		add("retention.local_keep", "%s", msg)
	}
	if msg := c.Retention.Grace.check(time.Hour); msg != "" {
		add("retention.grace", "%s (the grace period is what makes an expiry restorable; it is never 0)", msg)
	}
	if _, err := humanize.ParseBytes(c.Retention.MinFree); err != nil {
		add("retention.min_free", "%q: want a size such as 50GiB, or 0", c.Retention.MinFree)
	}
	if _, err := retention.ParseStandard(c.Retention.Standard); err != nil {
		add("retention.standard", "%v", err)
	}
	if c.Archive != nil {
		p = append(p, c.Archive.validate()...)
	}
	return p
}

func (a *ArchiveConfig) validate() []string {
	var p []string
	add := func(path, format string, args ...any) {
		p = append(p, "archive."+path+": "+fmt.Sprintf(format, args...))
	}
	switch {
	case a.Endpoint == "":
		add("endpoint", "required (host:port of the S3 service)")
	case strings.Contains(a.Endpoint, "://") || strings.Contains(a.Endpoint, "@") || strings.Contains(a.Endpoint, "/"):
		// Never echo it: a URL may carry credentials.
		add("endpoint", "want host:port only, without scheme, credentials or path (TLS is secure: true)")
	default:
		if _, _, err := net.SplitHostPort(a.Endpoint); err != nil {
			add("endpoint", "%q: want host:port", a.Endpoint)
		}
	}
	if err := s3utils.CheckValidBucketNameStrict(a.Bucket); err != nil {
		add("bucket", "%q: %v", a.Bucket, err)
	}
	for _, f := range []struct{ key, path string }{{"access_key_file", a.AccessKeyFile}, {"secret_key_file", a.SecretKeyFile}} {
		if f.path == "" {
			add(f.key, "required (credentials are read from files, never from this config)")
			continue
		}
		if _, err := readSecret(f.path); err != nil {
			add(f.key, "%v", err)
		}
	}
	if a.CAFile != "" {
		if !a.Secure {
			add("ca_file", "needs secure: true")
		}
		if _, err := os.Stat(a.CAFile); err != nil {
			add("ca_file", "%s: %v", a.CAFile, errors.Unwrap(err))
		}
	}
	if a.MaxUploads < 1 || a.MaxUploads > 64 {
		add("max_uploads", "%d: want 1 to 64", a.MaxUploads)
	}
	if n, err := humanize.ParseBytes(a.PartSize); err != nil {
		add("part_size", "%q: want a size such as 32MiB", a.PartSize)
	} else if n < archive.MinPartSize || n > 5<<30 {
		add("part_size", "%s: want 5MiB to 5GiB (S3 limits)", a.PartSize)
	}
	if a.BandwidthLimit != "" {
		if n, err := humanize.ParseBytes(a.BandwidthLimit); err != nil || n < 1<<10 {
			add("bandwidth_limit", "%q: want bytes per second such as 20MB, at least 1KiB", a.BandwidthLimit)
		}
	}
	return p
}

// readSecret reads a credential file. Its errors name the file and never
// any of its content.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s: more than one line", path)
	}
	return s, nil
}

// StorageConfig is the archive client config, credentials read from their files.
func (a *ArchiveConfig) StorageConfig() (archive.Config, error) {
	access, err := readSecret(a.AccessKeyFile)
	if err != nil {
		return archive.Config{}, fmt.Errorf("archive.access_key_file: %w", err)
	}
	secret, err := readSecret(a.SecretKeyFile)
	if err != nil {
		return archive.Config{}, fmt.Errorf("archive.secret_key_file: %w", err)
	}
	part, _ := humanize.ParseBytes(a.PartSize) // validated
	return archive.Config{
		Endpoint: a.Endpoint, Bucket: a.Bucket, AccessKey: access, SecretKey: secret,
		Secure: a.Secure, CAFile: a.CAFile, PartSize: int64(part),
	}, nil
}

// Bandwidth is the upload limit in bytes per second, 0 for none.
func (a *ArchiveConfig) Bandwidth() int64 {
	n, _ := humanize.ParseBytes(a.BandwidthLimit) // validated
	return int64(n)
}

// StandardPeriod is the validated standard retention period.
// RetentionSummary is the retention rule in force, as the custody trail
// records it.
func (c *Config) RetentionSummary() string {
	mode := "local-only"
	if c.Archive != nil {
		mode = "archive " + c.Archive.Endpoint + "/" + c.Archive.Bucket
	}
	return fmt.Sprintf("standard=%s local_keep=%s grace=%s min_free=%s timezone=%s %s",
		c.StandardPeriod(), c.Retention.LocalKeep, c.Retention.Grace, c.Retention.MinFree, c.Timezone, mode)
}

// RetentionPolicy is the retention section as the planner takes it.
func (c *Config) RetentionPolicy() retention.Policy {
	minFree, _ := humanize.ParseBytes(c.Retention.MinFree)
	return retention.Policy{
		Standard:  c.StandardPeriod(),
		Location:  c.Location(),
		LocalKeep: c.Retention.LocalKeep.D(),
		Grace:     c.Retention.Grace.D(),
		MinFree:   int64(minFree),
		Archive:   c.Archive != nil,
	}
}

func (c *Config) StandardPeriod() retention.Period {
	p, _ := retention.ParseStandard(c.Retention.Standard)
	return p
}

func (c *Config) validateRooms() []string {
	var p []string
	add := func(path, format string, args ...any) { p = append(p, path+": "+fmt.Sprintf(format, args...)) }
	ids := map[string]int{}
	for i, r := range c.Rooms {
		at := fmt.Sprintf("rooms[%d]", i)
		switch {
		case r.ID == "":
			add(at+".id", "required")
		case !text.ValidID(r.ID):
			add(at+".id", "%q: want 1-32 letters, digits, '.', '_' or '-'", r.ID)
		default:
			if j, dup := ids[r.ID]; dup {
				add(at+".id", "duplicate room id %q (also rooms[%d])", r.ID, j)
			}
			ids[r.ID] = i
		}
		switch {
		case r.URL != "" && r.URLFile != "":
			add(at, "give exactly one of url and url_file")
		case r.URL == "" && r.URLFile == "":
			add(at+".url_file", "required (or url, for tests without secrets)")
		default:
			key := at + ".url"
			if r.URLFile != "" {
				key = at + ".url_file"
			}
			if u, err := r.FeedURL(); err != nil {
				add(key, "%s: %v", r.URLFile, errors.Unwrap(err))
			} else if msg := checkRoomURL(u); msg != "" {
				add(key, "%s", msg)
			}
		}
		if r.Transport != ingest.TransportTCP && r.Transport != ingest.TransportUDP {
			add(at+".transport", "%q: want tcp or udp", r.Transport)
		}
		if msg := r.Segment.check(MinRoomSegment); msg != "" {
			add(at+".segment", "%s", msg)
		}
	}
	return p
}

// checkRoomURL describes what is wrong with a room URL without repeating it:
// it may hold a password.
func checkRoomURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URL"
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return fmt.Sprintf("scheme %q: want rtsp or rtsps", text.Printable(u.Scheme))
	}
	if u.Host == "" {
		return "no host"
	}
	return ""
}

func overlaps(a, b string) bool {
	a, _ = filepath.Abs(a)
	b, _ = filepath.Abs(b)
	sep := string(filepath.Separator)
	return a == b || strings.HasPrefix(a, b+sep) || strings.HasPrefix(b, a+sep)
}

// Location is the station's time zone.
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.Local // validated already
	}
	return loc
}

// Health is the storage monitor's config: the volumes custodian writes to,
// named by role, and the thresholds of the storage section.
func (c *Config) Health(log *slog.Logger) disk.HealthConfig {
	marker := ""
	if c.Storage.RequireMarker {
		marker = filepath.Join(c.DataDir, disk.MarkerName)
	}
	return disk.HealthConfig{
		Volumes: []disk.Volume{
			{Role: "staging", Path: filepath.Join(c.DataDir, "staging"), Marker: marker},
			{Role: "catalog", Path: c.DataDir, Marker: marker},
		},
		Interval:     c.Storage.CheckInterval.D(),
		FreeWarning:  c.Storage.FreeWarningPercent / 100,
		FreeCritical: c.Storage.FreeCriticalPercent / 100,
		Log:          log,
	}
}

// DeviceTable converts the devices section.
func (c *Config) DeviceTable() camera.Devices {
	loc := c.Location()
	out := make(camera.Devices, 0, len(c.Devices))
	for _, d := range c.Devices {
		from, _ := parseWhen(d.From, loc)
		to, _ := parseWhen(d.To, loc)
		out = append(out, camera.Device{Serial: d.Serial, Officer: d.Officer, From: from, To: to})
	}
	return out
}

// parseWhen reads "", a date (2026-11-21) or an RFC 3339 time.
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want a date (2026-11-21) or a time (2026-11-21T08:30:00+08:00)", s)
}
