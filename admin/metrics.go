package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"custodian/hardware/disk"
	"custodian/storage/catalog"
)

// collector reads the catalog counts and the latest storage health sample at
// each scrape, so the numbers are never older than the data they come from.
type collector struct {
	cat    Catalog
	health func() disk.Report

	readable, recordings, held           *prometheus.Desc
	size, free, used, inodes, freeInodes *prometheus.Desc
	ioErrors, readLatency, writeLatency  *prometheus.Desc
	healthLevel, smartPassed             *prometheus.Desc
}

// newCollector describes custodian_catalog_* and custodian_disk_*. The volume
// label is a role (staging, catalog), never a path.
func newCollector(cat Catalog, health func() disk.Report) *collector {
	vol := []string{"volume"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{
		cat:          cat,
		health:       health,
		readable:     d("custodian_catalog_readable", "1 when the catalog answered the last scrape, 0 when it could not be read.", nil),
		recordings:   d("custodian_catalog_recordings", "Recordings in the catalog by custody state.", []string{"state"}),
		held:         d("custodian_catalog_held_recordings", "Recordings in the permanent class (any hold reason).", nil),
		size:         d("custodian_disk_size_bytes", "Size of the filesystem holding the volume.", vol),
		free:         d("custodian_disk_free_bytes", "Bytes custodian may still write on the volume (excludes the root reserve).", vol),
		used:         d("custodian_disk_used_bytes", "Bytes in use on the volume's filesystem.", vol),
		inodes:       d("custodian_disk_inodes", "Inodes of the volume's filesystem (0 when it has no fixed number).", vol),
		freeInodes:   d("custodian_disk_free_inodes", "Free inodes of the volume's filesystem.", vol),
		ioErrors:     d("custodian_disk_io_errors_total", "I/O errors the kernel counted on the volume's disk since boot (only where the driver reports them).", vol),
		readLatency:  d("custodian_disk_read_latency_seconds", "Mean time per read request on the volume's block device over the last check interval.", vol),
		writeLatency: d("custodian_disk_write_latency_seconds", "Mean time per write request on the volume's block device over the last check interval.", vol),
		healthLevel:  d("custodian_disk_health", "Storage health of the volume: 0 ok, 1 warning, 2 critical.", vol),
		smartPassed:  d("custodian_disk_smart_passed", "1 when SMART reports the volume's disk healthy, 0 when failing; absent when unknown.", vol),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.readable, c.recordings, c.held, c.size, c.free, c.used, c.inodes, c.freeInodes,
		c.ioErrors, c.readLatency, c.writeLatency, c.healthLevel, c.smartPassed} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	// A catalog that cannot be read is reported as a value, not a failed
	// scrape: the disk metrics below matter most exactly then.
	if counts, err := c.cat.Counts(); err != nil {
		gauge(c.readable, 0)
	} else {
		gauge(c.readable, 1)
		for _, s := range catalog.States {
			gauge(c.recordings, float64(counts[s]), string(s))
		}
		if n, err := c.cat.Held(); err == nil {
			gauge(c.held, float64(n))
		}
	}
	if c.health == nil {
		return
	}
	r := c.health()
	for _, v := range r.Volumes {
		gauge(c.healthLevel, float64(v.Level), v.Role)
		if v.TotalBytes == 0 {
			continue // statfs failed; the health gauge says so
		}
		gauge(c.size, float64(v.TotalBytes), v.Role)
		gauge(c.free, float64(v.FreeBytes), v.Role)
		gauge(c.used, float64(v.UsedBytes), v.Role)
		gauge(c.inodes, float64(v.TotalInodes), v.Role)
		gauge(c.freeInodes, float64(v.FreeInodes), v.Role)
		if v.IOErrors >= 0 {
			ch <- prometheus.MustNewConstMetric(c.ioErrors, prometheus.CounterValue, float64(v.IOErrors), v.Role)
		}
		if v.Device != "" {
			gauge(c.readLatency, v.ReadLatency.Seconds(), v.Role)
			gauge(c.writeLatency, v.WriteLatency.Seconds(), v.Role)
		}
		if v.SMART.Passed != nil {
			passed := 0.0
			if *v.SMART.Passed {
				passed = 1
			}
			gauge(c.smartPassed, passed, v.Role)
		}
	}
}
