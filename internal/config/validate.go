package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"custodian/hardware/camera"
	"custodian/ingest/room"
	"custodian/internal/text"
	"custodian/storage/archive"
)

// MinRoomSegment is the shortest segment a room may be configured with.
const MinRoomSegment = 10 * time.Second

// Validate returns every problem of the config at once, each naming its key
// path. It reads none of the secret files (see ReadSecrets).
func (c *Config) Validate() error { return c.validate().err() }

func (c *Config) validate() problems {
	var p problems
	c.validateStation(&p)
	profiles, err := camera.NewProfiles(c.Profiles)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			p.add("profiles", "%s", line)
		}
	}
	c.compiled = profiles
	c.validateDocks(&p, profiles, err == nil)
	c.validateRooms(&p)
	c.validateDevices(&p)
	c.Clock.validate(&p)
	c.Retention.validate(&p)
	if c.Archive != nil {
		c.Archive.validate(&p)
	}
	return p
}

const badID = "%q: want 1-32 letters, digits, '.', '_' or '-'"

// maxSocketPath is the longest Unix socket path Linux takes (sun_path less
// its terminating NUL).
const maxSocketPath = 107

// validateStation checks the keys of the station itself: id, disks, admin
// API and log.
func (c *Config) validateStation(p *problems) {
	if c.Station == "" {
		p.add("station", "required (the station id that goes into every record)")
	} else if !text.ValidID(c.Station) {
		p.add("station", badID, c.Station)
	}
	if c.DataDir == "" {
		p.add("data_dir", "required")
	}
	if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
		p.add("admin.listen", "%q: want host:port", c.Admin.Listen)
	}
	if len(c.Admin.Socket) > maxSocketPath {
		p.add("admin.socket", "longer than %d bytes, the most a Unix socket's path may have", maxSocketPath)
	}
	if (c.Admin.TLSCertFile == "") != (c.Admin.TLSKeyFile == "") {
		p.add("admin.tls_cert_file", "give both tls_cert_file and tls_key_file, or neither")
	}
	if st := c.Storage; !(0 < st.FreeCriticalPercent && st.FreeCriticalPercent < st.FreeWarningPercent && st.FreeWarningPercent < 100) {
		p.add("storage.free_critical_percent", "want 0 < free_critical_percent (%g) < free_warning_percent (%g) < 100",
			st.FreeCriticalPercent, st.FreeWarningPercent)
	}
	checkDuration(p, "storage.check_interval", c.Storage.CheckInterval, time.Second)
	checkDuration(p, "storage.scrub_interval", c.Storage.ScrubInterval, time.Minute)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		p.add("log.format", "%q: want text or json", c.Log.Format)
	}
}

func checkDuration(p *problems, path string, d Duration, least time.Duration) {
	if msg := d.check(least); msg != "" {
		p.add(path, "%s", msg)
	}
}

// validate checks the clock section.
func (c *ClockConfig) validate(p *problems) {
	if msg := c.MaxError.check(time.Millisecond); msg != "" {
		p.add("clock.max_error", "%s", msg)
	} else if c.MaxError.D() > maxClockError {
		p.add("clock.max_error", "%s is longer than %s, where the kernel itself reports the clock unsynchronised", c.MaxError, maxClockError)
	}
	// A leap second steps the clock back by one second; it is no fault.
	checkDuration(p, "clock.max_step", c.MaxStep, time.Second)
	checkDuration(p, "clock.check_interval", c.CheckInterval, time.Second)
}

// maxClockError is the kernel's NTP_PHASE_LIMIT: a larger error bound is
// reported as unsynchronised.
const maxClockError = 16 * time.Second

// idSet checks the ids of a list's entries: present, well formed, unique.
type idSet struct {
	list, kind string
	seen       map[string]int
}

func (s *idSet) check(p *problems, i int, id string) {
	at := fmt.Sprintf("%s[%d].id", s.list, i)
	switch {
	case id == "":
		p.add(at, "required")
	case !text.ValidID(id):
		p.add(at, badID, id)
	default:
		if j, dup := s.seen[id]; dup {
			p.add(at, "duplicate %s id %q (also %s[%d])", s.kind, id, s.list, j)
		}
		s.seen[id] = i
	}
}

// validateDocks checks the docks; profiles are the known camera profiles,
// trusted only when the profiles section itself is valid.
func (c *Config) validateDocks(p *problems, profiles camera.Profiles, profilesOK bool) {
	ids := idSet{list: "docks", kind: "dock", seen: map[string]int{}}
	for i, d := range c.Docks {
		at := fmt.Sprintf("docks[%d]", i)
		ids.check(p, i, d.ID)
		if d.Path == "" {
			p.add(at+".path", "required")
		} else if fi, err := os.Stat(d.Path); err != nil {
			p.add(at+".path", "%s: %v", d.Path, errors.Unwrap(err))
		} else if !fi.IsDir() {
			p.add(at+".path", "%s: not a directory", d.Path)
		} else if c.DataDir != "" && overlaps(d.Path, c.DataDir) {
			p.add(at+".path", "%s overlaps data_dir %s: custodian would ingest its own staging", d.Path, c.DataDir)
		}
		if _, ok := profiles[d.Profile]; !ok && profilesOK {
			p.add(at+".profile", "%q: unknown profile (built in: gat947, generic; or define it under profiles)", d.Profile)
		}
		checkDuration(p, at+".settle", d.Settle, 0)
		checkDuration(p, at+".scan_interval", d.ScanInterval, time.Second)
		// FAT keeps file times to 2 s and an unsynced camera drifts seconds a
		// day: a tighter threshold would flag healthy cameras.
		checkDuration(p, at+".max_clock_offset", d.MaxClockOffset, 30*time.Second)
		if d.Copies < 1 || d.Copies > 16 {
			p.add(at+".copies", "%d: want 1 to 16", d.Copies)
		}
		if d.MaxDepth < 2 || d.MaxDepth > 256 {
			p.add(at+".max_depth", "%d: want 2 to 256 (the dock root is 0, a camera's folder 1)", d.MaxDepth)
		}
	}
}

func overlaps(a, b string) bool {
	a, _ = filepath.Abs(a)
	b, _ = filepath.Abs(b)
	sep := string(filepath.Separator)
	return a == b || strings.HasPrefix(a, b+sep) || strings.HasPrefix(b, a+sep)
}

// validateRooms checks the rooms; a url_file and a credentials_file are
// checked by ReadSecrets.
func (c *Config) validateRooms(p *problems) {
	ids := idSet{list: "rooms", kind: "room", seen: map[string]int{}}
	listens := listenSet{admin: c.Admin.Listen, paths: map[string]int{}, hosts: map[string]hostUse{}}
	for i, r := range c.Rooms {
		at := fmt.Sprintf("rooms[%d]", i)
		ids.check(p, i, r.ID)
		given := 0
		for _, v := range []string{string(r.URL), r.URLFile, r.Listen} {
			if v != "" {
				given++
			}
		}
		switch {
		case given > 1:
			p.add(at, "give exactly one of url, url_file and listen")
		case given == 0:
			p.add(at+".url_file", "required (or listen, for a recorder that pushes; or url, for tests without secrets)")
		case r.URL != "":
			if msg := checkRoomURL(r.URL); msg != "" {
				p.add(at+".url", "%s", msg)
			}
		case r.Listen != "":
			listens.check(p, i, r.Listen)
		}
		switch {
		case r.Listen != "" && r.CredentialsFile == "":
			p.add(at+".credentials_file", "required with listen (the user:password the recorder pushes with)")
		case r.Listen == "" && r.CredentialsFile != "":
			p.add(at+".credentials_file", "only with listen (a camera's credentials are in its URL)")
		}
		if r.Transport != room.TransportTCP && r.Transport != room.TransportUDP {
			p.add(at+".transport", "%q: want tcp or udp", r.Transport)
		} else if r.Listen != "" && r.Transport != room.TransportTCP {
			p.add(at+".transport", "%q: a push is taken over tcp only", r.Transport)
		}
		checkDuration(p, at+".segment", r.Segment, MinRoomSegment)
		checkDuration(p, at+".alert_after", r.AlertAfter, time.Second)
		checkDuration(p, at+".max_drift", r.MaxDrift, 500*time.Millisecond)
	}
}

// listenSet checks the rooms' listen URLs against each other: one room
// per path of an address, one host per port (two hosts on one port could
// not both be bound), and not the admin API's port.
type listenSet struct {
	admin string
	paths map[string]int     // addr+path -> room index
	hosts map[string]hostUse // port -> the first room's host
}

type hostUse struct {
	host string
	room int
}

func (l *listenSet) check(p *problems, i int, listen string) {
	at := fmt.Sprintf("rooms[%d].listen", i)
	addr, path, err := room.ListenAddr(listen)
	if err != nil {
		p.add(at, "%v", err)
		return
	}
	host, port, _ := net.SplitHostPort(addr)
	if _, adminPort, err := net.SplitHostPort(l.admin); err == nil && adminPort == port {
		p.add(at, "port %s is the admin API's (admin.listen)", port)
	}
	if u, ok := l.hosts[port]; ok && u.host != host {
		p.add(at, "port %s is listened on at %q by rooms[%d]; rooms that share a port share its host", port, u.host, u.room)
	} else if !ok {
		l.hosts[port] = hostUse{host, i}
	}
	if j, dup := l.paths[addr+path]; dup {
		p.add(at, "%s is also rooms[%d]'s: each room needs its own path", listen, j)
	} else {
		l.paths[addr+path] = i
	}
}

// checkRoomURL describes what is wrong with a room URL without repeating it:
// it may hold a password.
func checkRoomURL(raw Secret) string {
	u, err := url.Parse(string(raw))
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

// validateDevices checks the devices table; from and to were checked while
// decoding.
func (c *Config) validateDevices(p *problems) {
	for i, d := range c.Devices {
		at := fmt.Sprintf("devices[%d]", i)
		if !text.ValidID(d.Serial) {
			p.add(at+".serial", badID, d.Serial)
		}
		if !text.ValidID(d.Officer) {
			p.add(at+".officer", badID, d.Officer)
		}
	}
}

// validate checks the retention section; the standard period was checked
// against the legal minimum while decoding.
func (r *RetentionConfig) validate(p *problems) {
	checkDuration(p, "retention.local_keep", r.LocalKeep, 0)
	if msg := r.Grace.check(time.Hour); msg != "" {
		p.add("retention.grace", "%s (the grace period is what makes an expiry restorable; it is never 0)", msg)
	}
	if !r.MinFree.set() {
		p.add("retention.min_free", "%q: want a size such as 50GiB, or 0", r.MinFree)
	}
}

// validate checks the archive section; the key files are read by ReadSecrets.
func (a *ArchiveConfig) validate(p *problems) {
	add := func(key, format string, args ...any) { p.add("archive."+key, format, args...) }
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
	if n := a.PartSize.Bytes(); n < archive.MinPartSize || n > 5<<30 {
		add("part_size", "%s: want 5MiB to 5GiB (S3 limits)", a.PartSize)
	}
	if a.BandwidthLimit.set() && a.BandwidthLimit.Bytes() < 1<<10 {
		add("bandwidth_limit", "%q: want bytes per second such as 20MB, at least 1KiB", a.BandwidthLimit)
	}
}
