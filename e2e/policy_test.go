//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"custodian/admin/api"
	"custodian/internal/miniotest"
	"custodian/internal/testenv"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
)

// mcBinary finds MinIO's client: $MC, else .cache/bin/mc above the test,
// else an mc on PATH that is MinIO's (not Midnight Commander).
func mcBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MC"); p != "" {
		return p
	}
	if dir, err := os.Getwd(); err == nil {
		for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			if p := filepath.Join(dir, ".cache", "bin", "mc"); fileExists(p) {
				return p
			}
		}
	}
	if p, err := exec.LookPath("mc"); err == nil {
		if out, _ := exec.Command(p, "--version").Output(); strings.Contains(string(out), "mc version") {
			return p
		}
	}
	testenv.Need(t, "MinIO's mc client (make deps, or set MC)")
	return ""
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// countyAdmin is the county's MinIO administrator, through mc.
type countyAdmin struct {
	t        *testing.T
	bin, dir string
}

func newCountyAdmin(t *testing.T, srv *miniotest.Server) *countyAdmin {
	t.Helper()
	a := &countyAdmin{t: t, bin: mcBinary(t), dir: t.TempDir()}
	a.mc("alias set", "alias", "set", "county", "http://"+srv.Endpoint, srv.AccessKey, srv.SecretKey)
	return a
}

// mc runs one mc command; what names it in a failure, never the arguments
// (they carry secret keys).
func (a *countyAdmin) mc(what string, args ...string) {
	a.t.Helper()
	out, err := exec.Command(a.bin, append([]string{"--config-dir", a.dir, "--no-color"}, args...)...).CombinedOutput()
	if err != nil {
		a.t.Fatalf("mc %s: %v\n%s", what, err, out)
	}
}

// station makes a MinIO user for station with configs/s3-policy.json
// rendered for it and bucket, as the README says, and returns its keys.
func (a *countyAdmin) station(station, bucket string) (access, secret string) {
	a.t.Helper()
	tmpl, err := os.ReadFile("../configs/s3-policy.json")
	if err != nil {
		a.t.Fatal(err)
	}
	doc := strings.NewReplacer("${BUCKET}", bucket, "${STATION}", station).Replace(string(tmpl))
	if strings.Contains(doc, "${") {
		a.t.Fatalf("policy left a placeholder:\n%s", doc)
	}
	file := filepath.Join(a.dir, station+"-policy.json")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		a.t.Fatal(err)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	access, secret = station+"-custodian", hex.EncodeToString(b)
	a.mc("admin policy create", "admin", "policy", "create", "county", "custodian-"+station, file)
	a.mc("admin user add", "admin", "user", "add", "county", access, secret)
	a.mc("admin policy attach", "admin", "policy", "attach", "county", "custodian-"+station, "--user", access)
	return access, secret
}

// useKeys points the station's config at other S3 keys.
func (s archSetup) useKeys(t *testing.T, access, secret string) {
	t.Helper()
	for name, v := range map[string]string{"s3-access": access, "s3-secret": secret} {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue #13: a station's keys, with only configs/s3-policy.json rendered for
// it, run everything custodian does (upload, single and multipart, legal
// hold, release, case tags, verify --archive, the custody trail's anchors
// and their check, the S3 calls of expiry and restore), and cannot touch
// another station's objects: each attempt is refused and reported as a
// permanent auth failure naming the prefix and the policy.
func TestStationPolicy(t *testing.T) {
	srv := miniotest.Start(t)
	county := newCountyAdmin(t, srv)
	const bucket = "county"

	// The bucket is the county administrator's: archive init with the
	// root keys. A station's own keys cannot run it (bucket-wide calls).
	s := newArchSetup(t, srv, bucket)
	if out, err := archRun(t, "archive", "init", "--config", s.config); err != nil {
		t.Fatalf("archive init as the county administrator: %v\n%s", err, out)
	}
	st01Access, st01Secret := county.station("st01", bucket)
	st02Access, st02Secret := county.station("st02", bucket)
	s.useKeys(t, st01Access, st01Secret)
	out, err := archRun(t, "archive", "init", "--config", s.config)
	if err == nil || !strings.Contains(out, "auth AccessDenied") || !strings.Contains(out, "configs/s3-policy.json") {
		t.Errorf("archive init with a station's keys: %v\n%s", err, out)
	}
	if strings.Contains(out, st01Secret) {
		t.Errorf("output shows the secret key:\n%s", out)
	}

	root, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	recs := policyStationRun(t, s, root)
	assertAuditAnchored(t, root, bucket, "st01/audit/")

	st01, err := archive.New(archive.Config{Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: st01Access, SecretKey: st01Secret,
		PartSize: archive.MinPartSize})
	if err != nil {
		t.Fatal(err)
	}
	policyExpiryCalls(t, st01, root, bucket)
	policyResumeCalls(t, st01)

	st02, err := archive.New(archive.Config{Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: st02Access, SecretKey: st02Secret})
	if err != nil {
		t.Fatal(err)
	}
	policyRefusals(t, st02, recs)
}

// policyStationRun docks footage at st01 and runs the daemon and the CLI
// through upload, hold with a case, release, verify --archive and, at
// shutdown, the custody trail's shipment and its offline check.
func policyStationRun(t *testing.T, s archSetup, root *minio.Client) []api.Recording {
	t.Helper()
	cam := filepath.Join(s.dock, "CAM1", "DCIM", "100MEDIA")
	if err := os.MkdirAll(cam, 0o750); err != nil {
		t.Fatal(err)
	}
	station, _ := time.LoadLocation("Asia/Shanghai")
	files := map[string]int{
		"J0123456_012345_20261121083015_0001.MP4":     200_000,
		"J0123456_012345_20261121091500_0002_IMP.MP4": 12 << 20, // multipart, held at upload
	}
	for name, size := range files {
		b := make([]byte, size)
		_, _ = rand.Read(b)
		p := filepath.Join(cam, name)
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
		mtime := archNameTime(t, name, station).Add(time.Minute)
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	d := start(t, s.config, s.admin)
	var recs []api.Recording
	waitFor(t, "every recording archived", 3*time.Minute, func() bool {
		recs = archListArchived(t, s.admin)
		for _, r := range recs {
			if r.State != catalog.StateArchived {
				return false
			}
		}
		return len(recs) == len(files)
	})
	var plain api.Recording
	for _, r := range recs {
		if !r.Important {
			plain = r
		} else if !r.LegalHold {
			t.Errorf("important recording not held at upload: %+v", r)
		}
	}
	id := fmt.Sprint(plain.ID)
	cli(t, "hold", "--config", s.config, "--reason", "evidence", "--case", "C2026-0042", "--why", "used as evidence", "--id", id)
	checkArchived(t, root, s.bucket, plain, true, "C2026-0042")
	// A legal reason is released by two supervisors: one asks, another approves.
	approveRequest(t, s.config, cli(t, "release", "--config", s.config, "--reason", "evidence",
		"--why", "case closed without charges", "--id", id, "--json"))
	checkArchived(t, root, s.bucket, plain, false, "C2026-0042")
	if out, err := archRun(t, "verify", "--archive", "--config", s.config); err != nil || !strings.Contains(out, "2 checked, 0 failed") {
		t.Errorf("verify --archive: %v\n%s", err, out)
	}
	d.stop() // ships the custody trail still open
	if out, err := archRun(t, "audit", "verify", "--config", s.config); err != nil || !strings.Contains(out, "intact") {
		t.Errorf("audit verify with the station's keys: %v\n%s", err, out)
	}
	if strings.Contains(d.log.String(), "AccessDenied") {
		t.Errorf("a step needed more than the policy:\n%s", d.log.String())
	}
	return recs
}

// checkArchived reads, as the administrator, r's legal hold and case tag.
func checkArchived(t *testing.T, root *minio.Client, bucket string, r api.Recording, held bool, caseNo string) {
	t.Helper()
	ctx := context.Background()
	st, err := root.GetObjectLegalHold(ctx, bucket, r.ArchiveKey, minio.GetObjectLegalHoldOptions{VersionID: r.ArchiveVersion})
	if err != nil || (st != nil && *st == minio.LegalHoldEnabled) != held {
		t.Errorf("%s: legal hold %v (%v), want %v", r.ArchiveKey, st, err, held)
	}
	tags, err := root.GetObjectTagging(ctx, bucket, r.ArchiveKey, minio.GetObjectTaggingOptions{VersionID: r.ArchiveVersion})
	if err != nil || !strings.Contains(tags.ToMap()[archive.TagCases], caseNo) {
		t.Errorf("%s: tags %v (%v), want case %s", r.ArchiveKey, tags, err, caseNo)
	}
}

// assertAuditAnchored: the trail's chunks are in the archive under the
// station's prefix, each under a legal hold.
func assertAuditAnchored(t *testing.T, root *minio.Client, bucket, prefix string) {
	t.Helper()
	ctx := context.Background()
	n := 0
	for o := range root.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		st, err := root.GetObjectLegalHold(ctx, bucket, o.Key, minio.GetObjectLegalHoldOptions{})
		if err != nil || st == nil || *st != minio.LegalHoldEnabled {
			t.Errorf("trail chunk %s not under legal hold: %v", o.Key, err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no custody trail chunk under %s", prefix)
	}
}

// policyExpiryCalls makes, with st01's keys, the archive calls of expiry
// and restore in the order retention makes them (see retention/steps.go
// and holds.go): mark deleted, find the marker, restore by lifting it,
// mark again, and once the lock has passed delete the version and the
// marker. A six-month COMPLIANCE lock cannot pass in a test, so the object
// is put with a lock of seconds, by the same client.
func policyExpiryCalls(t *testing.T, st01 *archive.Client, root *minio.Client, bucket string) {
	t.Helper()
	ctx := context.Background()
	data, sha := archivetest.Blob(4242, 10_000)
	req := archivetest.Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
	req.RetainUntil = time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
	req.Tags = archive.CaseTags([]string{"C2026-0050"}, nil)
	info, err := st01.Put(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s with the station's keys: %v", what, err)
		}
	}
	marker, err := st01.MarkDeleted(ctx, info.Key)
	step("mark deleted", err)
	markers, err := st01.Markers(ctx, info.Key)
	step("list markers", err)
	if len(markers) != 1 || markers[0] != marker {
		t.Fatalf("markers %v, placed %s", markers, marker)
	}
	step("restore", st01.Undelete(ctx, info.Key, marker))
	_, err = st01.Head(ctx, info.Key, "")
	step("head after restore", err)
	marker, err = st01.MarkDeleted(ctx, info.Key)
	step("mark deleted again", err)
	time.Sleep(time.Until(req.RetainUntil.Add(time.Second)))
	step("delete the expired version", st01.Remove(ctx, info.Key, info.VersionID))
	step("delete the marker", st01.Remove(ctx, info.Key, marker))
	for o := range root.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: info.Key, WithVersions: true}) {
		t.Errorf("left after expiry: %s version %s (err %v)", o.Key, o.VersionID, o.Err)
	}
}

// policyResumeCalls: with st01's keys, a multipart upload cut short after
// its first part is resumed after the parts the server holds are listed,
// and another one is given up (aborted), as the uploader does.
func policyResumeCalls(t *testing.T, st01 *archive.Client) {
	t.Helper()
	ctx := context.Background()
	errStop := errors.New("stop after the first part")
	var saved archive.MultipartUpload
	for i, key := range []string{"resumed", "aborted"} {
		data, sha := archivetest.Blob(uint64(500+i), 2*archive.MinPartSize+10)
		req := archivetest.Request("st01/2026/11/21/012345/"+key+"-"+sha+".mp4", data, sha)
		req.Save = func(u archive.MultipartUpload) error {
			saved = u
			if len(u.Parts) == 1 {
				return errStop
			}
			return nil
		}
		if _, err := st01.Put(ctx, req); !errors.Is(err, errStop) {
			t.Fatalf("%s: first attempt: %v", key, err)
		}
		if key == "aborted" {
			if err := st01.Abort(ctx, req.Key, saved.UploadID); err != nil {
				t.Fatalf("abort with the station's keys: %v", err)
			}
			continue
		}
		req.Resume, req.Save = &saved, nil
		if _, err := st01.Put(ctx, req); err != nil {
			t.Fatalf("resume with the station's keys: %v", err)
		}
	}
}

// policyRefusals tries, with st02's keys, everything that could hide,
// alter, free or read st01's footage: each is refused, classified as a
// permanent auth failure, and its message names st01's prefix and the
// policy. st02's keys do work on st02's own prefix.
func policyRefusals(t *testing.T, st02 *archive.Client, recs []api.Recording) {
	t.Helper()
	ctx := context.Background()
	r := recs[0]
	attempts := map[string]func() error{
		"tag": func() error {
			return st02.SetTags(ctx, r.ArchiveKey, r.ArchiveVersion, archive.CaseTags([]string{"X"}, nil))
		},
		"legal hold":  func() error { return st02.SetLegalHold(ctx, r.ArchiveKey, r.ArchiveVersion, true) },
		"release":     func() error { return st02.SetLegalHold(ctx, r.ArchiveKey, r.ArchiveVersion, false) },
		"delete":      func() error { return st02.Remove(ctx, r.ArchiveKey, r.ArchiveVersion) },
		"mark":        func() error { _, err := st02.MarkDeleted(ctx, r.ArchiveKey); return err },
		"read":        func() error { return readAll(st02.Get(ctx, r.ArchiveKey, r.ArchiveVersion)) },
		"head":        func() error { _, err := st02.Head(ctx, r.ArchiveKey, r.ArchiveVersion); return err },
		"read tags":   func() error { _, err := st02.Tags(ctx, r.ArchiveKey, r.ArchiveVersion); return err },
		"list":        func() error { _, err := st02.List(ctx, "st01/"); return err },
		"overwrite":   func() error { return putErr(st02.Put(ctx, policyRequest(r.ArchiveKey))) },
		"list bucket": func() error { _, err := st02.List(ctx, ""); return err },
	}
	for what, try := range attempts {
		err := try()
		var ae *archive.Error
		switch {
		case err == nil:
			t.Errorf("st02 could %s st01's %s", what, r.ArchiveKey)
		case !errors.As(err, &ae) || ae.Code != "AccessDenied" || ae.Kind != archive.KindAuth || !ae.Kind.Permanent():
			t.Errorf("st02 %s: %v, want a permanent auth AccessDenied", what, err)
		case !strings.Contains(err.Error(), "configs/s3-policy.json") ||
			(what != "list bucket" && !strings.Contains(err.Error(), `under "st01/"`)):
			t.Errorf("st02 %s: message names neither prefix nor policy: %v", what, err)
		}
	}
	if err := putErr(st02.Put(ctx, policyRequest("st02/2026/11/21/000001/x.mp4"))); err != nil {
		t.Errorf("st02 on its own prefix: %v", err)
	}
}

func policyRequest(key string) archive.PutRequest {
	data, sha := archivetest.Blob(7, 1000)
	return archivetest.Request(key, data, sha)
}

func putErr(_ archive.ObjectInfo, err error) error { return err }

func readAll(rc io.ReadCloser, err error) error {
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// A station given another station's keys (a mix-up at install) starts,
// since the bucket checks pass, but uploads nothing: each upload is
// refused, counted as an auth failure, not a network one, and the
// recording's last error names the prefix and the policy.
func TestStationWithAnotherStationsKeys(t *testing.T) {
	srv := miniotest.Start(t)
	county := newCountyAdmin(t, srv)
	s := newArchSetup(t, srv, "county")
	if out, err := archRun(t, "archive", "init", "--config", s.config); err != nil {
		t.Fatalf("archive init as the county administrator: %v\n%s", err, out)
	}
	access, secret := county.station("st02", "county")
	s.useKeys(t, access, secret)
	cam := filepath.Join(s.dock, "CAM1", "DCIM", "100MEDIA")
	if err := os.MkdirAll(cam, 0o750); err != nil {
		t.Fatal(err)
	}
	data, _ := archivetest.Blob(9, 50_000)
	if err := os.WriteFile(filepath.Join(cam, "J0123456_012345_20261121083015_0001.MP4"), data, 0o640); err != nil {
		t.Fatal(err)
	}
	start(t, s.config, s.admin)
	var rec api.Recording
	waitFor(t, "an upload refused", 2*time.Minute, func() bool {
		recs := archListArchived(t, s.admin)
		if len(recs) == 1 {
			rec = recs[0]
		}
		return rec.LastUploadError != ""
	})
	if rec.State == catalog.StateArchived || !strings.Contains(rec.LastUploadError, `under "st01/"`) ||
		!strings.Contains(rec.LastUploadError, "configs/s3-policy.json") {
		t.Errorf("recording %s, last upload error %q", rec.State, rec.LastUploadError)
	}
	t.Logf("last upload error: %s", rec.LastUploadError)
	_, metrics := httpGet(t, "http://"+s.admin+"/metrics")
	if !strings.Contains(metrics, `custodian_archive_upload_errors_total{kind="auth"}`) ||
		strings.Contains(metrics, `custodian_archive_upload_errors_total{kind="network"}`) {
		t.Errorf("upload errors by kind:\n%s", grepLines(metrics, "custodian_archive_upload_errors_total"))
	}
}
