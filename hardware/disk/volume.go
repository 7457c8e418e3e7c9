package disk

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// volume samples one volume: marker, free space, mount, then the block
// device's errors, latency and SMART. Every problem found raises its level.
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

// grade rates free space and free inodes against the configured fractions.
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
