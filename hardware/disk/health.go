// Package disk watches the health of the station's storage: free space and
// inodes, block-device errors and latency, SMART, and the mount marker.
package disk

import (
	"context"
	"fmt"
	"log/slog"
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
