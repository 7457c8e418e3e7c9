// Package disk watches the health of the station's storage: free space and
// inodes, block-device errors and latency, SMART, and the mount marker.
package disk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Level grades the health of a volume, and of the station as a whole.
type Level int

const (
	LevelOK Level = iota
	LevelWarning
	LevelCritical
)

func (l Level) String() string {
	switch l {
	case LevelOK:
		return "ok"
	case LevelWarning:
		return "warning"
	default:
		return "critical"
	}
}

// MarshalText writes the level as its name, for the API and the status page.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level name.
func (l *Level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "ok":
		*l = LevelOK
	case "warning":
		*l = LevelWarning
	case "critical":
		*l = LevelCritical
	default:
		return fmt.Errorf("level %q: want ok, warning or critical", b)
	}
	return nil
}

// Volume is a directory custodian writes to, named by its role ("staging",
// "catalog"). Roles are a small fixed set: they become metric labels.
type Volume struct {
	Role string
	Path string
	// Marker, when set, is a file that must exist for the volume to count as
	// mounted. Without it, a data disk that failed to mount leaves an empty
	// directory on the root filesystem, and custodian would fill that.
	Marker string
}

// MarkerName is the marker file custodian looks for in data_dir when
// storage.require_marker is set. The administrator creates it once, on the
// mounted data disk: touch /var/lib/custodian/.custodian-volume
const MarkerName = ".custodian-volume"

// Defaults of HealthConfig.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultSMARTInterval  = 10 * time.Minute
	DefaultFreeWarning    = 0.15
	DefaultFreeCritical   = 0.05
	DefaultLatencyWarning = time.Second
)

// HealthConfig configures the storage Monitor.
type HealthConfig struct {
	Volumes []Volume
	// Interval between samples.
	Interval time.Duration
	// SMARTInterval between smartctl runs per disk; SMART changes slowly and
	// asking a disk wakes it.
	SMARTInterval time.Duration
	// FreeWarning and FreeCritical are fractions of the volume's size (bytes
	// or inodes) below which free space is a warning or critical.
	FreeWarning, FreeCritical float64
	// LatencyWarning is the mean time per read or write over one interval
	// above which the disk counts as slow.
	LatencyWarning time.Duration
	// SysRoot and ProcRoot are where sysfs and procfs are mounted; tests
	// point them at fixture trees.
	SysRoot, ProcRoot string
	// Smartctl is the smartctl command; empty means "smartctl" on PATH.
	Smartctl string
	// Statfs reads a volume's filesystem; nil means statfs(2) and stat(2).
	Statfs func(path string) (FSStats, error)
	Now    func() time.Time
	Log    *slog.Logger
}

func (c *HealthConfig) defaults() {
	if c.Interval <= 0 {
		c.Interval = DefaultHealthInterval
	}
	if c.SMARTInterval <= 0 {
		c.SMARTInterval = DefaultSMARTInterval
	}
	if c.FreeWarning == 0 {
		c.FreeWarning = DefaultFreeWarning
	}
	if c.FreeCritical == 0 {
		c.FreeCritical = DefaultFreeCritical
	}
	if c.LatencyWarning <= 0 {
		c.LatencyWarning = DefaultLatencyWarning
	}
	if c.SysRoot == "" {
		c.SysRoot = "/sys"
	}
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.Smartctl == "" {
		c.Smartctl = "smartctl"
	}
	if c.Statfs == nil {
		c.Statfs = statfs
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// FSStats is what statfs and stat say about a volume.
type FSStats struct {
	TotalBytes  uint64
	FreeBytes   uint64 // available to custodian (not the root reserve)
	UsedBytes   uint64
	TotalInodes uint64
	FreeInodes  uint64
	// Major and Minor are the device number of the filesystem (st_dev).
	Major, Minor uint32
}

// VolumeHealth is one sample of one volume.
type VolumeHealth struct {
	Role        string `json:"role"`
	Path        string `json:"path"`
	MountPoint  string `json:"mount_point,omitempty"`
	FSType      string `json:"fs_type,omitempty"`
	Device      string `json:"device,omitempty"` // block device name, e.g. sda
	TotalBytes  uint64 `json:"total_bytes"`
	FreeBytes   uint64 `json:"free_bytes"`
	UsedBytes   uint64 `json:"used_bytes"`
	TotalInodes uint64 `json:"total_inodes"`
	FreeInodes  uint64 `json:"free_inodes"`
	// IOErrors counts I/O errors the kernel saw on the disk since boot; -1
	// when the driver does not say (virtio, NVMe).
	IOErrors int64 `json:"io_errors"`
	// ReadLatency and WriteLatency are the mean time per request over the
	// last interval; zero before the second sample or without requests.
	ReadLatency  time.Duration `json:"read_latency_ns"`
	WriteLatency time.Duration `json:"write_latency_ns"`
	// Marker is "ok", "missing" or "" (not required).
	Marker   string   `json:"marker,omitempty"`
	SMART    SMART    `json:"smart"`
	Level    Level    `json:"level"`
	Problems []string `json:"problems,omitempty"`
}

// FreeFraction is the share of the volume still free, 0 to 1.
func (v VolumeHealth) FreeFraction() float64 {
	if v.TotalBytes == 0 {
		return 0
	}
	return float64(v.FreeBytes) / float64(v.TotalBytes)
}

// Report is one sample of every volume.
type Report struct {
	Time    time.Time      `json:"time"`
	Level   Level          `json:"level"`
	Volumes []VolumeHealth `json:"volumes"`
}

// Monitor samples the health of the volumes custodian writes to.
type Monitor struct {
	cfg HealthConfig

	mu    sync.Mutex
	last  Report
	prev  map[string]diskStat // block device -> counters at the last sample
	smart map[string]smartCache
}

type smartCache struct {
	at time.Time
	s  SMART
}

// NewMonitor builds a monitor; Run samples periodically, Check once.
func NewMonitor(cfg HealthConfig) *Monitor {
	cfg.defaults()
	return &Monitor{cfg: cfg, prev: map[string]diskStat{}, smart: map[string]smartCache{}}
}

// Run samples at start and every Interval until ctx is done. It logs each
// change of a volume's level, so an outage is in the journal with its cause.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	var before Report
	for {
		r := m.Check(ctx)
		m.logChanges(before, r)
		before = r
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (m *Monitor) logChanges(before, now Report) {
	was := map[string]Level{}
	for _, v := range before.Volumes {
		was[v.Role] = v.Level
	}
	for _, v := range now.Volumes {
		old, seen := was[v.Role]
		if seen && old == v.Level || !seen && v.Level == LevelOK {
			continue
		}
		args := []any{"volume", v.Role, "path", v.Path, "level", v.Level.String(), "problems", strings.Join(v.Problems, "; ")}
		switch v.Level {
		case LevelCritical:
			m.cfg.Log.Error("storage health changed", args...)
		case LevelWarning:
			m.cfg.Log.Warn("storage health changed", args...)
		default:
			m.cfg.Log.Info("storage health changed", args...)
		}
	}
}

// Report is the latest sample; its Time is zero before the first one.
func (m *Monitor) Report() Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.last
	r.Volumes = append([]VolumeHealth(nil), r.Volumes...)
	return r
}

// Critical reports whether the latest sample found any volume critical; new
// copies should wait meanwhile (cameras keep their footage).
func (m *Monitor) Critical() bool {
	return m.Report().Level == LevelCritical
}

// Check samples every volume now and keeps the result as the latest report.
func (m *Monitor) Check(ctx context.Context) Report {
	r := Report{Time: m.cfg.Now()}
	for _, v := range m.cfg.Volumes {
		h := m.volume(ctx, v)
		r.Volumes = append(r.Volumes, h)
		r.Level = max(r.Level, h.Level)
	}
	m.mu.Lock()
	m.last = r
	m.mu.Unlock()
	return r
}

func (m *Monitor) volume(ctx context.Context, v Volume) VolumeHealth {
	h := VolumeHealth{Role: v.Role, Path: v.Path, IOErrors: -1}
	problem := func(l Level, format string, args ...any) {
		h.Level = max(h.Level, l)
		h.Problems = append(h.Problems, fmt.Sprintf(format, args...))
	}
	if v.Marker != "" {
		if err := CheckMarker(v.Marker); err != nil {
			h.Marker = "missing"
			problem(LevelCritical, "%v", err)
		} else {
			h.Marker = "ok"
		}
	}
	st, err := m.cfg.Statfs(v.Path)
	if err != nil {
		problem(LevelCritical, "%v", err)
		return h
	}
	h.TotalBytes, h.FreeBytes, h.UsedBytes = st.TotalBytes, st.FreeBytes, st.UsedBytes
	h.TotalInodes, h.FreeInodes = st.TotalInodes, st.FreeInodes
	m.grade(&h, problem)

	if mnt, ok := findMount(filepath.Join(m.cfg.ProcRoot, "self", "mountinfo"), v.Path); ok {
		h.MountPoint, h.FSType = mnt.point, mnt.fsType
	}
	dev, err := findBlockDevice(m.cfg.SysRoot, st.Major, st.Minor)
	if err != nil {
		// tmpfs, overlay, NFS: no block device of ours to watch.
		h.SMART = SMART{Note: "no block device"}
		return h
	}
	h.Device = dev.name
	if n, ok := dev.ioErrors(); ok {
		h.IOErrors = n
		if n > 0 {
			problem(LevelWarning, "%d I/O errors on %s since boot", n, dev.name)
		}
	}
	if cur, err := dev.stat(); err == nil {
		m.mu.Lock()
		prev, ok := m.prev[dev.name]
		m.prev[dev.name] = cur
		m.mu.Unlock()
		if ok {
			h.ReadLatency, h.WriteLatency = cur.latency(prev)
		}
		if worst := max(h.ReadLatency, h.WriteLatency); worst > m.cfg.LatencyWarning {
			problem(LevelWarning, "%s is slow: %s per request", dev.name, worst.Round(time.Millisecond))
		}
	}
	h.SMART = m.smartOf(ctx, dev)
	if h.SMART.Passed != nil && !*h.SMART.Passed {
		problem(LevelCritical, "SMART says %s is failing", dev.disk)
	}
	return h
}

func (m *Monitor) grade(h *VolumeHealth, problem func(Level, string, ...any)) {
	check := func(what string, free, total uint64) {
		if total == 0 {
			return // filesystems without inode limits report 0
		}
		f := float64(free) / float64(total)
		switch {
		case f < m.cfg.FreeCritical:
			problem(LevelCritical, "%s free %.1f%% (critical below %.0f%%)", what, 100*f, 100*m.cfg.FreeCritical)
		case f < m.cfg.FreeWarning:
			problem(LevelWarning, "%s free %.1f%% (warning below %.0f%%)", what, 100*f, 100*m.cfg.FreeWarning)
		}
	}
	check("space", h.FreeBytes, h.TotalBytes)
	check("inodes", h.FreeInodes, h.TotalInodes)
}

func (m *Monitor) smartOf(ctx context.Context, dev blockDevice) SMART {
	if dev.virtual {
		return SMART{Note: "not a physical disk"}
	}
	now := m.cfg.Now()
	m.mu.Lock()
	c, ok := m.smart[dev.disk]
	m.mu.Unlock()
	if ok && now.Sub(c.at) < m.cfg.SMARTInterval {
		return c.s
	}
	s := readSMART(ctx, m.cfg.Smartctl, "/dev/"+dev.disk)
	m.mu.Lock()
	m.smart[dev.disk] = smartCache{at: now, s: s}
	m.mu.Unlock()
	return s
}

// ErrNoMarker says a volume's mount marker is missing.
var ErrNoMarker = errors.New("mount marker missing")

// CheckMarker returns an error wrapping ErrNoMarker unless the marker file
// exists. custodian refuses to start, and pauses ingest, without it.
func CheckMarker(path string) error {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w (is the data disk mounted? create the file on the mounted disk)", path, ErrNoMarker)
		}
		return fmt.Errorf("check mount marker %s: %w", path, err)
	}
	return nil
}

type mount struct {
	point, fsType, source string
}

// findMount returns the mount that holds path: the longest mount point that
// is path or one of its parents. Later mounts over the same point win.
func findMount(mountinfo, path string) (mount, bool) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return mount{}, false
	}
	defer f.Close()
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	path = filepath.Clean(path)
	var best mount
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		point := unescapeMount(fields[4])
		if !within(path, point) || found && len(point) < len(best.point) {
			continue
		}
		best, found = mount{point: point, fsType: tail[0], source: unescapeMount(tail[1])}, true
	}
	return best, found
}

func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// blockDevice is a block device as sysfs shows it.
type blockDevice struct {
	name    string // the device of the filesystem: sda1, dm-0, vda
	disk    string // the whole disk: sda
	dir     string // sysfs directory of name
	diskDir string // sysfs directory of disk
	virtual bool   // device-mapper, loop, md: no SMART of its own
}

// findBlockDevice resolves a device number to its sysfs directories through
// <sysroot>/dev/block/<major>:<minor>.
func findBlockDevice(sysRoot string, major, minor uint32) (blockDevice, error) {
	link := filepath.Join(sysRoot, "dev", "block", fmt.Sprintf("%d:%d", major, minor))
	dir, err := filepath.EvalSymlinks(link)
	if err != nil {
		return blockDevice{}, fmt.Errorf("block device %d:%d: %w", major, minor, err)
	}
	d := blockDevice{name: filepath.Base(dir), dir: dir, disk: filepath.Base(dir), diskDir: dir}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		d.diskDir = filepath.Dir(dir)
		d.disk = filepath.Base(d.diskDir)
	}
	for _, p := range []string{"dm-", "loop", "md", "zram", "nbd"} {
		if strings.HasPrefix(d.disk, p) {
			d.virtual = true
		}
	}
	return d, nil
}

// ioErrors reads the SCSI layer's error count (hex) of the whole disk.
func (d blockDevice) ioErrors() (int64, bool) {
	b, err := os.ReadFile(filepath.Join(d.diskDir, "device", "ioerr_cnt"))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 0, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// diskStat is the part of a block device's stat file custodian uses
// (Documentation/block/stat.rst): completed requests and the milliseconds
// spent on them.
type diskStat struct {
	reads, readMs, writes, writeMs uint64
}

func (d blockDevice) stat() (diskStat, error) {
	b, err := os.ReadFile(filepath.Join(d.dir, "stat"))
	if err != nil {
		return diskStat{}, err
	}
	f := strings.Fields(string(b))
	if len(f) < 8 {
		return diskStat{}, fmt.Errorf("%s/stat: %d fields, want at least 8", d.name, len(f))
	}
	var v [8]uint64
	for i := range v {
		if v[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
			return diskStat{}, fmt.Errorf("%s/stat: %w", d.name, err)
		}
	}
	return diskStat{reads: v[0], readMs: v[3], writes: v[4], writeMs: v[7]}, nil
}

// latency is the mean time per request between two samples.
func (cur diskStat) latency(prev diskStat) (read, write time.Duration) {
	per := func(ms, prevMs, n, prevN uint64) time.Duration {
		if n <= prevN || ms < prevMs {
			return 0 // no requests, or the counters were reset
		}
		return time.Duration(ms-prevMs) * time.Millisecond / time.Duration(n-prevN)
	}
	return per(cur.readMs, prev.readMs, cur.reads, prev.reads), per(cur.writeMs, prev.writeMs, cur.writes, prev.writes)
}
