//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"custodian/internal/miniotest"
	"custodian/internal/tcpproxy"
	"custodian/storage/catalog"
)

// faultRig is a station archiving to MinIO, directly or through a proxy.
type faultRig struct {
	archSetup
	srv *miniotest.Server
}

// newFaultRig writes n camera files of size bytes into the dock and a
// config whose archive is reached at endpoint, with extra archive settings.
func newFaultRig(t *testing.T, srv *miniotest.Server, endpoint string, n, size int, extra string) *faultRig {
	t.Helper()
	r := &faultRig{archSetup: newArchSetup(t, srv, "evidence"), srv: srv}
	cfg, err := os.ReadFile(r.config)
	if err != nil {
		t.Fatal(err)
	}
	c := strings.Replace(string(cfg), "endpoint: "+srv.Endpoint, "endpoint: "+endpoint, 1)
	c = strings.Replace(c, "  part_size: 5MiB\n", "  part_size: 5MiB\n"+extra, 1)
	if err := os.WriteFile(r.config, []byte(c), 0o640); err != nil {
		t.Fatal(err)
	}
	if out, err := archRun(t, "archive", "init", "--config", r.config); err != nil {
		t.Fatalf("archive init: %v\n%s", err, out)
	}
	cam := filepath.Join(r.dock, "CAM1", "DCIM", "100MEDIA")
	if err := os.MkdirAll(cam, 0o750); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Minute)
		name := fmt.Sprintf("J0123456_012345_%s_%04d.MP4", at.Format("20060102150405"), i+1)
		b := make([]byte, size)
		_, _ = rand.Read(b)
		p := filepath.Join(cam, name)
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at.Add(time.Minute), at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// archived counts the recordings the daemon reports archived.
func (r *faultRig) archived(t *testing.T) int {
	n := 0
	for _, rec := range archListArchived(t, r.admin) {
		if rec.State == catalog.StateArchived {
			n++
		}
	}
	return n
}

// metric is the value of a metric line starting with name (labels
// included), or -1 when the page has none.
func (r *faultRig) metric(t *testing.T, name string) float64 {
	res, err := http.Get("http://" + r.admin + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+-]+)$`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	var v float64
	fmt.Sscan(string(m[1]), &v)
	return v
}

// versions counts the object versions under the station's prefix, by key.
func (r *faultRig) versions(t *testing.T) map[string]int {
	t.Helper()
	mc, err := minio.New(r.srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(r.srv.AccessKey, r.srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for o := range mc.ListObjects(context.Background(), r.bucket, minio.ListObjectsOptions{Prefix: "st01/2026/", Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out[o.Key]++
	}
	return out
}

// custodyEvents counts the trail's events of type typ (the daemon stopped).
func (r *faultRig) custodyEvents(t *testing.T, typ string) int {
	t.Helper()
	cat, err := catalog.Open(filepath.Join(r.dir, "data", "custodian.db"), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	evs, err := cat.RecentEvents(100000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestArchiveFrozenForNinetySeconds: MinIO is stopped (SIGSTOP) for 90 s
// while 30 recordings upload. The station says so within 15 s, logs no
// ERROR, writes no custody event for it, and has every recording archived,
// one version each, within 30 s of MinIO running again.
func TestArchiveFrozenForNinetySeconds(t *testing.T) {
	srv := miniotest.Start(t)
	r := newFaultRig(t, srv, srv.Endpoint, 30, 3<<20, "  bandwidth_limit: 8MB\n")
	d := start(t, r.config, r.admin)
	waitFor(t, "the first recording archived", 2*time.Minute, func() bool { return r.archived(t) >= 1 })
	srv.Freeze()
	frozen := time.Now()
	before := r.archived(t)
	waitFor(t, "custodian_archive_reachable 0", 15*time.Second, func() bool { return r.metric(t, "custodian_archive_reachable") == 0 })
	t.Logf("reachable 0 after %s; %d of 30 archived at the freeze", time.Since(frozen).Round(time.Millisecond), before)
	time.Sleep(time.Until(frozen.Add(90 * time.Second)))
	srv.Thaw()
	thawed := time.Now()
	waitFor(t, "all 30 archived", 30*time.Second, func() bool { return r.archived(t) == 30 })
	t.Logf("all archived %s after the thaw", time.Since(thawed).Round(time.Millisecond))
	if before == 30 {
		t.Error("every upload was done before the freeze: the test froze nothing in flight")
	}
	d.stop()
	if strings.Contains(d.log.String(), "level=ERROR") {
		t.Error("an ERROR line was logged for a frozen archive")
	}
	if n := r.custodyEvents(t, catalog.EventUploadFailed); n != 0 {
		t.Errorf("%d %s custody events for a transient outage", n, catalog.EventUploadFailed)
	}
	v := r.versions(t)
	if len(v) != 30 {
		t.Errorf("%d objects in the archive, want 30", len(v))
	}
	for k, n := range v {
		if n != 1 {
			t.Errorf("%s has %d versions", k, n)
		}
	}
}

// TestArchivePeerStopsReading: the path to the archive stops reading in
// the middle of an upload (its TCP window closes). The upload is given up
// within 45 s, with a log line and the metric, and completes once the path
// reads again.
func TestArchivePeerStopsReading(t *testing.T) {
	srv := miniotest.Start(t)
	proxy := tcpproxy.Start(t, srv.Endpoint)
	r := newFaultRig(t, srv, proxy.Addr, 1, 64<<20, "  bandwidth_limit: 4MB\n")
	d := start(t, r.config, r.admin)
	waitFor(t, "upload under way", 2*time.Minute, func() bool {
		return strings.Contains(d.log.String(), "msg=verified")
	})
	time.Sleep(3 * time.Second)
	proxy.Pause()
	paused := time.Now()
	errs := `custodian_archive_upload_errors_total{kind="network"}`
	waitFor(t, "the stalled upload given up", 45*time.Second, func() bool {
		return r.metric(t, errs) >= 1 && strings.Contains(d.log.String(), "archive unavailable; uploads paused")
	})
	t.Logf("upload given up %s after the path stopped reading", time.Since(paused).Round(time.Millisecond))
	proxy.Resume()
	waitFor(t, "archived after the path reads again", 3*time.Minute, func() bool { return r.archived(t) == 1 })
	d.stop()
	if n := len(r.versions(t)); n != 1 {
		t.Errorf("%d objects in the archive, want 1", n)
	}
}
