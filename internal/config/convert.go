package config

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"custodian/hardware/camera"
	"custodian/hardware/clock"
	"custodian/hardware/disk"
	"custodian/retention"
	"custodian/storage/archive"
	"custodian/storage/upload"
)

// What the packages of the daemon take, from a decoded config: nothing here
// parses, so nothing can fail.

// Location is the station's time zone.
func (c *Config) Location() *time.Location { return c.Timezone.Location() }

// RetentionSummary is the retention rule in force, as the custody trail
// records it.
func (c *Config) RetentionSummary() string {
	mode := "local-only"
	if c.Archive != nil {
		mode = "archive " + c.Archive.Endpoint + "/" + c.Archive.Bucket
	}
	r := c.Retention
	return fmt.Sprintf("standard=%s local_keep=%s grace=%s min_free=%s timezone=%s %s",
		r.Standard, r.LocalKeep, r.Grace, r.MinFree, c.Timezone, mode)
}

// RetentionPolicy is the retention section as the planner takes it.
func (c *Config) RetentionPolicy() retention.Policy {
	return retention.Policy{
		Standard:  c.Retention.Standard.Period,
		Location:  c.Location(),
		LocalKeep: c.Retention.LocalKeep.D(),
		Grace:     c.Retention.Grace.D(),
		MinFree:   c.Retention.MinFree.Bytes(),
		Archive:   c.Archive != nil,
	}
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

// ClockMonitor is the station clock monitor's config from the clock section.
func (c *Config) ClockMonitor(log *slog.Logger) clock.Config {
	return clock.Config{
		Interval:   c.Clock.CheckInterval.D(),
		MaxError:   c.Clock.MaxError.D(),
		MaxStep:    c.Clock.MaxStep.D(),
		IgnoreSync: !c.Clock.RequireSync,
		Log:        log,
	}
}

// DeviceTable is the devices section, dates in the station's zone.
func (c *Config) DeviceTable() camera.Devices {
	loc := c.Location()
	out := make(camera.Devices, 0, len(c.Devices))
	for _, d := range c.Devices {
		out = append(out, camera.Device{Serial: d.Serial, Officer: d.Officer, From: d.From.In(loc), To: d.To.In(loc)})
	}
	return out
}

// ClientConfig is the archive client's config, with the credentials of s.
func (a *ArchiveConfig) ClientConfig(s Secrets) archive.Config {
	return archive.Config{
		Endpoint:  a.Endpoint,
		Bucket:    a.Bucket,
		AccessKey: string(s.ArchiveAccessKey),
		SecretKey: string(s.ArchiveSecretKey),
		Secure:    a.Secure,
		CAFile:    a.CAFile,
		PartSize:  a.PartSize.Bytes(),
	}
}

// UploadConfig is the uploader's config from the station and the archive
// section (which must be present); the caller adds Version and RetainUntil.
func (c *Config) UploadConfig() upload.Config {
	return upload.Config{
		Station:        c.Station,
		MaxUploads:     c.Archive.MaxUploads,
		BandwidthLimit: c.Archive.BandwidthLimit.Bytes(),
	}
}
