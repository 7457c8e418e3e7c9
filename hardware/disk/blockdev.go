package disk

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

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
