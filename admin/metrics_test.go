package admin

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/hardware/disk"
	"custodian/storage/catalog"

	"custodian/internal/testenv"
)

func TestCollector(t *testing.T) {
	cat := fakeCatalog{counts: map[catalog.State]int{catalog.StateStaged: 2, catalog.StateVerified: 40, catalog.StateArchived: 1234}, held: 7}
	c := newCollector(cat, sampleHealth)
	want := `
# HELP custodian_catalog_held_recordings Recordings in the permanent class (any hold reason).
# TYPE custodian_catalog_held_recordings gauge
custodian_catalog_held_recordings 7
# HELP custodian_catalog_readable 1 when the catalog answered the last scrape, 0 when it could not be read.
# TYPE custodian_catalog_readable gauge
custodian_catalog_readable 1
# HELP custodian_catalog_recordings Recordings in the catalog by custody state.
# TYPE custodian_catalog_recordings gauge
custodian_catalog_recordings{state="archived"} 1234
custodian_catalog_recordings{state="expired"} 0
custodian_catalog_recordings{state="expiring"} 0
custodian_catalog_recordings{state="corrupt"} 0
custodian_catalog_recordings{state="missing"} 0
custodian_catalog_recordings{state="staged"} 2
custodian_catalog_recordings{state="verified"} 40
# HELP custodian_disk_free_bytes Bytes custodian may still write on the volume (excludes the root reserve).
# TYPE custodian_disk_free_bytes gauge
custodian_disk_free_bytes{volume="catalog"} 1.099511627776e+12
custodian_disk_free_bytes{volume="staging"} 1.099511627776e+12
# HELP custodian_disk_free_inodes Free inodes of the volume's filesystem.
# TYPE custodian_disk_free_inodes gauge
custodian_disk_free_inodes{volume="catalog"} 524288
custodian_disk_free_inodes{volume="staging"} 524288
# HELP custodian_disk_health Storage health of the volume: 0 ok, 1 warning, 2 critical.
# TYPE custodian_disk_health gauge
custodian_disk_health{volume="catalog"} 0
custodian_disk_health{volume="staging"} 1
# HELP custodian_disk_inodes Inodes of the volume's filesystem (0 when it has no fixed number).
# TYPE custodian_disk_inodes gauge
custodian_disk_inodes{volume="catalog"} 1.048576e+06
custodian_disk_inodes{volume="staging"} 1.048576e+06
# HELP custodian_disk_io_errors_total I/O errors the kernel counted on the volume's disk since boot (only where the driver reports them).
# TYPE custodian_disk_io_errors_total counter
custodian_disk_io_errors_total{volume="staging"} 3
# HELP custodian_disk_read_latency_seconds Mean time per read request on the volume's block device over the last check interval.
# TYPE custodian_disk_read_latency_seconds gauge
custodian_disk_read_latency_seconds{volume="catalog"} 0
custodian_disk_read_latency_seconds{volume="staging"} 0.004
# HELP custodian_disk_size_bytes Size of the filesystem holding the volume.
# TYPE custodian_disk_size_bytes gauge
custodian_disk_size_bytes{volume="catalog"} 8.796093022208e+12
custodian_disk_size_bytes{volume="staging"} 8.796093022208e+12
# HELP custodian_disk_smart_passed 1 when SMART reports the volume's disk healthy, 0 when failing; absent when unknown.
# TYPE custodian_disk_smart_passed gauge
custodian_disk_smart_passed{volume="staging"} 1
# HELP custodian_disk_used_bytes Bytes in use on the volume's filesystem.
# TYPE custodian_disk_used_bytes gauge
custodian_disk_used_bytes{volume="catalog"} 7.696581394432e+12
custodian_disk_used_bytes{volume="staging"} 7.696581394432e+12
# HELP custodian_disk_write_latency_seconds Mean time per write request on the volume's block device over the last check interval.
# TYPE custodian_disk_write_latency_seconds gauge
custodian_disk_write_latency_seconds{volume="catalog"} 0
custodian_disk_write_latency_seconds{volume="staging"} 0.012
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorCatalogUnreadable(t *testing.T) {
	c := newCollector(fakeCatalog{err: errors.New("disk gone")}, func() disk.Report {
		return disk.Report{Level: disk.LevelCritical, Volumes: []disk.VolumeHealth{{Role: "staging", Level: disk.LevelCritical}}}
	})
	want := `
# HELP custodian_catalog_readable 1 when the catalog answered the last scrape, 0 when it could not be read.
# TYPE custodian_catalog_readable gauge
custodian_catalog_readable 0
# HELP custodian_disk_health Storage health of the volume: 0 ok, 1 warning, 2 critical.
# TYPE custodian_disk_health gauge
custodian_disk_health{volume="staging"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsPromtool lints the whole /metrics page the daemon serves.
func TestMetricsPromtool(t *testing.T) {
	promtool := testenv.Tool(t, "promtool")
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := New(Config{Station: "st01", Health: sampleHealth, Clock: sampleClock, Retention: goldenRetention{},
		Now: func() time.Time { return testTime }}, openCatalog(t), reg, nil)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	res, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", res.StatusCode, err)
	}
	for _, name := range []string{"custodian_catalog_recordings{state=\"staged\"} 0", "custodian_disk_health{volume=\"staging\"} 1",
		"custodian_clock_trusted 0", "custodian_pending_approvals 1"} {
		if !bytes.Contains(body, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
