//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"custodian/admin/api"
	"custodian/internal/miniotest"
	"custodian/storage/catalog"
)

// The helpers here are prefixed arch so they never clash with the shared
// e2e harness.

// archBinary is the custodian the harness built for this run (TestMain).
func archBinary(t *testing.T) string {
	t.Helper()
	return binary
}

// archSetup is a station directory: docks, credential files and a config
// pointing at srv.
type archSetup struct {
	dir, config, dock, admin, bucket string
}

func newArchSetup(t *testing.T, srv *miniotest.Server, bucket string) archSetup {
	t.Helper()
	dir := t.TempDir()
	s := archSetup{dir: dir, dock: filepath.Join(dir, "docks", "dock-a"), admin: freeAddr(t), bucket: bucket}
	if err := os.MkdirAll(s.dock, 0o750); err != nil {
		t.Fatal(err)
	}
	access, secret := filepath.Join(dir, "s3-access"), filepath.Join(dir, "s3-secret")
	for p, v := range map[string]string{access: srv.AccessKey, secret: srv.SecretKey} {
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.config = filepath.Join(dir, "custodian.yaml")
	cfg := fmt.Sprintf(`station: st01
data_dir: %s
timezone: Asia/Shanghai
admin: {listen: %s, users_file: %s}
log: {level: debug}
%sdocks:
  - {id: dock-a, path: %s, profile: gat947, settle: 1s, scan_interval: 1s}
devices:
  - {serial: J0123456, officer: "012345"}
archive:
  endpoint: %s
  bucket: %s
  access_key_file: %s
  secret_key_file: %s
  secure: false
  max_uploads: 2
  part_size: 5MiB
retention:
  standard: 6mo
`, filepath.Join(dir, "data"), s.admin, usersFile, anyClock, s.dock, srv.Endpoint, bucket, access, secret)
	if err := os.WriteFile(s.config, []byte(cfg), 0o640); err != nil {
		t.Fatal(err)
	}
	return s
}

func archRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(archBinary(t), args...)
	cmd.Env = append(os.Environ(), "CUSTODIAN_TOKEN_FILE="+tokenFile)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func archListArchived(t *testing.T, adminAddr string) []api.Recording {
	t.Helper()
	resp, err := apiGet("http://" + adminAddr + "/api/v1/recordings")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var r api.RecordingsResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil
	}
	return r.Recordings
}

func TestArchiveEndToEnd(t *testing.T) {
	srv := miniotest.Start(t)
	s := newArchSetup(t, srv, "evidence")

	out, err := archRun(t, "archive", "init", "--config", s.config)
	if err != nil || !strings.Contains(out, "created with Object Lock") {
		t.Fatalf("archive init: %v\n%s", err, out)
	}

	// A docked camera with footage; one file is large enough for multipart.
	cam := filepath.Join(s.dock, "CAM1", "DCIM", "100MEDIA")
	if err := os.MkdirAll(cam, 0o750); err != nil {
		t.Fatal(err)
	}
	station, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]int{
		"J0123456_012345_20261121083015_0001.MP4":     200_000,
		"J0123456_012345_20261121091500_0002_IMP.MP4": 12 << 20,
		"J0123456_012345_20261121093200_0004.JPG":     30_000,
		"J0123456_012345_20260831235959_0009.MP4":     1000, // 31 Aug: the period runs into March
		// A camera clock 60 days slow, and one last set in 2011: neither
		// may shorten the period the station keeps them.
		"J0123456_012345_" + time.Now().In(station).AddDate(0, 0, -60).Format("20060102150405") + "_0010.MP4": 1000,
		"J0123456_012345_20110301080000_0011.MP4":                                                             1000,
	}
	want := map[string]string{} // name -> sha256 of the dock file
	for name, size := range files {
		b := make([]byte, size)
		_, _ = rand.Read(b)
		p := filepath.Join(cam, name)
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
		// The file was closed a minute after the recording began, so the
		// camera clock in its name is plausible and is the start.
		mtime := archNameTime(t, name, station).Add(time.Minute)
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		want[name] = hex.EncodeToString(sum[:])
	}

	var log bytes.Buffer
	serve := exec.Command(archBinary(t), "serve", "--config", s.config)
	serve.Stdout, serve.Stderr = &log, &log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve exited with %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = serve.Process.Kill()
			t.Error("serve did not stop within 30s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("custodian log:\n%s", log.String())
		}
	}()

	var recs []api.Recording
	deadline := time.Now().Add(3 * time.Minute)
	for {
		recs = archListArchived(t, s.admin)
		n := 0
		for _, r := range recs {
			if r.State == catalog.StateArchived {
				n++
			}
		}
		if n == len(files) && len(recs) == len(files) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes: %d recordings, %d archived: %+v", len(recs), n, recs)
		}
		time.Sleep(500 * time.Millisecond)
	}

	mc, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range recs {
		t.Run(r.Name, func(t *testing.T) {
			if r.SHA256 != want[r.Name] {
				t.Fatalf("catalog sha256 %s, dock file %s", r.SHA256, want[r.Name])
			}
			oi, err := mc.StatObject(ctx, s.bucket, r.ArchiveKey, minio.StatObjectOptions{VersionID: r.ArchiveVersion})
			if err != nil {
				t.Fatal(err)
			}
			if got := oi.UserMetadata["Sha256"]; got != want[r.Name] {
				t.Errorf("sha256 metadata %q, dock file %s", got, want[r.Name])
			}
			if oi.Size != int64(files[r.Name]) {
				t.Errorf("size %d, dock file %d", oi.Size, files[r.Name])
			}
			mode, until, err := mc.GetObjectRetention(ctx, s.bucket, r.ArchiveKey, r.ArchiveVersion)
			if err != nil {
				t.Fatal(err)
			}
			// Six calendar months, in station time, from the later of the
			// camera's start and the station's receipt: here every camera
			// time is earlier, so from receipt, whatever the camera's clock.
			start := archNameTime(t, r.Name, station)
			wantUntil := r.ReceivedAt.In(station).AddDate(0, 6, 0)
			if up := wantUntil.Truncate(time.Second); !up.Equal(wantUntil) {
				wantUntil = up.Add(time.Second)
			}
			if mode == nil || *mode != minio.Compliance || until == nil || !until.Equal(wantUntil) || until.Before(start.AddDate(0, 6, 0)) {
				t.Errorf("retention %v until %v, want COMPLIANCE until %s (receipt %s + 6 months)", mode, until, wantUntil.UTC(), r.ReceivedAt)
			}
			if !r.RetainUntil.Equal(wantUntil) {
				t.Errorf("catalog retain_until %s, archive %s", r.RetainUntil, wantUntil)
			}
			wantKey := fmt.Sprintf("st01/%s/012345/%s.%s", start.UTC().Format("2006/01/02"), want[r.Name],
				strings.ToLower(filepath.Ext(r.Name)[1:]))
			if r.ArchiveKey != wantKey {
				t.Errorf("key %s, want %s", r.ArchiveKey, wantKey)
			}
			err = mc.RemoveObject(ctx, s.bucket, r.ArchiveKey, minio.RemoveObjectOptions{VersionID: r.ArchiveVersion, GovernanceBypass: true})
			if err == nil {
				t.Error("delete of the locked version succeeded")
			}
			if _, err := mc.StatObject(ctx, s.bucket, r.ArchiveKey, minio.StatObjectOptions{VersionID: r.ArchiveVersion}); err != nil {
				t.Errorf("locked version gone after a refused delete: %v", err)
			}
		})
	}

	out, err = archRun(t, "verify", "--archive", "--config", s.config)
	if err != nil || !strings.Contains(out, fmt.Sprintf("%d checked, 0 failed", len(files))) {
		t.Errorf("verify --archive: %v\n%s", err, out)
	}
	out, err = archRun(t, "verify", "--archive", "--sample", "1", "--config", s.config)
	if err != nil || !strings.Contains(out, "1 checked, 0 failed") {
		t.Errorf("verify --archive --sample 1: %v\n%s", err, out)
	}
}

// archNameTime is the start time a GA/T 947 name states, in station time.
func archNameTime(t *testing.T, name string, loc *time.Location) time.Time {
	t.Helper()
	start, err := time.ParseInLocation("20060102150405", strings.Split(name, "_")[2], loc)
	if err != nil {
		t.Fatal(err)
	}
	return start
}

func TestArchiveInitRefusesBucketWithoutLock(t *testing.T) {
	srv := miniotest.Start(t)
	mc, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(context.Background(), "plain", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	s := newArchSetup(t, srv, "plain")
	out, err := archRun(t, "archive", "init", "--config", s.config)
	if err == nil || !strings.Contains(out, `bucket "plain" exists without Object Lock`) {
		t.Errorf("archive init on a bucket without Object Lock: %v\n%s", err, out)
	}
	if strings.Contains(out, srv.SecretKey) {
		t.Errorf("output shows the secret key:\n%s", out)
	}
}
