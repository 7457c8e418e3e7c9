package archive_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
)

// rootClient talks to MinIO directly, to set up what custodian must refuse.
func rootClient(t *testing.T, srv *miniotest.Server) *minio.Client {
	t.Helper()
	c, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestArchiveConformanceMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	archivetest.Conformance(t, func(t *testing.T) archivetest.Store { return archivetest.OnMinIO(t, srv, nil) })
}

func TestArchiveInit(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()
	a := archivetest.OnMinIO(t, srv, nil)
	rep, err := a.Init(ctx)
	if err != nil || rep.Created {
		t.Fatalf("second init: %+v err=%v, want an unchanged bucket", rep, err)
	}
	if rep.LifecycleErr != nil {
		// MinIO refuses AbortIncompleteMultipartUpload and expires stale
		// uploads on its own; S3 and Ceph take the rule. Init must carry on.
		if archive.KindOf(rep.LifecycleErr) != archive.KindRejected {
			t.Errorf("lifecycle refusal of kind %q: %v", archive.KindOf(rep.LifecycleErr), rep.LifecycleErr)
		}
		t.Logf("server refused the lifecycle rule: %v", rep.LifecycleErr)
		return
	}
	lc, err := rootClient(t, srv).GetBucketLifecycle(ctx, a.Bucket())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range lc.Rules {
		if r.ID == archive.LifecycleRuleID && int(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) == archive.AbortIncompleteDays {
			found = true
		}
	}
	if !found {
		t.Errorf("lifecycle rules %+v lack %s", lc.Rules, archive.LifecycleRuleID)
	}
}

func TestArchiveRefusesBucketWithoutObjectLock(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()
	if err := rootClient(t, srv).MakeBucket(ctx, "plain", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	a, err := archive.New(archive.Config{Endpoint: srv.Endpoint, Bucket: "plain", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Init(ctx); !errors.Is(err, archive.ErrNoObjectLock) || archive.KindOf(err) != archive.KindBucket {
		t.Errorf("init: %v, want ErrNoObjectLock of kind bucket", err)
	}
	if err := a.Check(ctx); !errors.Is(err, archive.ErrNoObjectLock) {
		t.Errorf("check: %v, want ErrNoObjectLock", err)
	}
	data, sha := archivetest.Blob(21, 1000)
	if _, err := a.Put(ctx, archivetest.Request("st01/p/"+sha+".mp4", data, sha)); archive.KindOf(err) != archive.KindBucket {
		t.Errorf("put with a lock into a bucket without Object Lock: %v (kind %q), want kind bucket", err, archive.KindOf(err))
	}
	absent, err := archive.New(archive.Config{Endpoint: srv.Endpoint, Bucket: "absent", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := absent.Check(ctx); !errors.Is(err, archive.ErrNoBucket) {
		t.Errorf("check of a missing bucket: %v, want ErrNoBucket", err)
	}
}

func TestArchiveWrongCredentials(t *testing.T) {
	srv := miniotest.Start(t)
	good := archivetest.OnMinIO(t, srv, nil)
	a, err := archive.New(archive.Config{Endpoint: srv.Endpoint, Bucket: good.Bucket(), AccessKey: srv.AccessKey, SecretKey: "wrong-secret"})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Check(context.Background())
	if archive.KindOf(err) != archive.KindAuth || !archive.KindOf(err).Permanent() {
		t.Fatalf("check with a wrong secret: %v (kind %q), want a permanent auth error", err, archive.KindOf(err))
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error shows the secret: %v", err)
	}
	data, sha := archivetest.Blob(20, 1000)
	_, err = a.Put(context.Background(), archivetest.Request("st01/x/"+sha+".mp4", data, sha))
	if archive.KindOf(err) != archive.KindAuth {
		t.Errorf("put with a wrong secret: %v, want kind auth", err)
	}
}

func TestArchiveUnreachableIsTransient(t *testing.T) {
	srv := miniotest.Start(t)
	a := archivetest.OnMinIO(t, srv, nil)
	srv.Stop()
	err := a.Check(context.Background())
	if archive.KindOf(err) != archive.KindNetwork || archive.KindOf(err).Permanent() {
		t.Fatalf("check of a stopped server: %v (kind %q), want a transient network error", err, archive.KindOf(err))
	}
}

// recorder keeps the headers of every request that carries a body.
type recorder struct {
	mu   sync.Mutex
	reqs []http.Header
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		r.mu.Lock()
		h := req.Header.Clone()
		h.Set("X-Test-Query", req.URL.RawQuery)
		h.Set("X-Test-Path", req.URL.Path)
		r.reqs = append(r.reqs, h)
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

// MinIO does not insist on a checksum with lock parameters, AWS does: prove
// the header goes out, signed, on the single PUT and on every part.
func TestArchiveSendsChecksumHeaders(t *testing.T) {
	srv := miniotest.Start(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: tr}
	a := archivetest.OnMinIO(t, srv, rec)
	ctx := context.Background()

	small, ssha := archivetest.Blob(30, 1000)
	if _, err := a.Put(ctx, archivetest.Request("st01/s/"+ssha+".mp4", small, ssha)); err != nil {
		t.Fatal(err)
	}
	big, bsha := archivetest.Blob(31, archivetest.PartSize+1)
	if _, err := a.Put(ctx, archivetest.Request("st01/b/"+bsha+".mp4", big, bsha)); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var objectPuts, partPuts int
	for _, h := range rec.reqs {
		q := h.Get("X-Test-Query")
		if !strings.Contains(h.Get("X-Test-Path"), "/st01/") {
			continue // bucket configuration
		}
		if strings.Contains(q, "uploadId=") {
			partPuts++
		} else {
			objectPuts++
			if h.Get("X-Amz-Object-Lock-Mode") != "COMPLIANCE" || h.Get("X-Amz-Object-Lock-Retain-Until-Date") == "" {
				t.Errorf("single PUT without lock headers: %v", h)
			}
		}
		if h.Get("X-Amz-Checksum-Sha256") == "" {
			t.Errorf("PUT %q without x-amz-checksum-sha256", q)
		}
		// The body is not hashed for the signature (the server would hash
		// it twice); the checksum it is held to is signed.
		if !strings.Contains(h.Get("Authorization"), "x-amz-checksum-sha256") {
			t.Errorf("PUT %q: x-amz-checksum-sha256 not among the signed headers: %s", q, h.Get("Authorization"))
		}
	}
	if objectPuts != 1 || partPuts != 2 {
		t.Errorf("saw %d object PUTs and %d part PUTs, want 1 and 2", objectPuts, partPuts)
	}
}

// COMPLIANCE means the station's own credentials cannot shorten the lock or
// delete the version, not even by asking to bypass governance.
func TestArchiveComplianceLockHolds(t *testing.T) {
	srv := miniotest.Start(t)
	a := archivetest.OnMinIO(t, srv, nil)
	ctx := context.Background()
	data, sha := archivetest.Blob(40, 1000)
	req := archivetest.Request("st01/l/"+sha+".mp4", data, sha)
	info, err := a.Put(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	c := rootClient(t, srv)
	if err := c.RemoveObject(ctx, a.Bucket(), req.Key, minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}); err == nil {
		t.Error("delete with governance bypass succeeded")
	}
	sooner := time.Now().Add(time.Minute)
	mode := minio.Compliance
	if err := c.PutObjectRetention(ctx, a.Bucket(), req.Key, minio.PutObjectRetentionOptions{
		VersionID: info.VersionID, Mode: &mode, RetainUntilDate: &sooner, GovernanceBypass: true}); err == nil {
		t.Error("shortening the retention succeeded")
	}
	head, err := a.Head(ctx, req.Key, info.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if err := head.Check(req, nil); err != nil {
		t.Fatal(err)
	}
}

// The server stops in the middle of a multipart upload and comes back: the
// next attempt resumes the saved upload and leaves exactly one version.
func TestArchiveServerStopsMidUpload(t *testing.T) {
	srv := miniotest.Start(t)
	a := archivetest.OnMinIO(t, srv, nil)
	ctx := context.Background()
	data, sha := archivetest.Blob(50, 3*archivetest.PartSize+10)
	req := archivetest.Request("st01/r/"+sha+".mp4", data, sha)
	var saved archive.MultipartUpload
	req.Save = func(u archive.MultipartUpload) error {
		saved = u
		if len(u.Parts) == 1 {
			srv.Stop()
		}
		return nil
	}
	_, err := a.Put(ctx, req)
	if k := archive.KindOf(err); k != archive.KindNetwork {
		t.Fatalf("put while the server stops: %v (kind %q), want network", err, k)
	}
	srv.Restart()
	first := saved
	req.Resume = &first
	req.Save = func(u archive.MultipartUpload) error {
		if u.UploadID != first.UploadID {
			t.Errorf("new upload id %s, want %s", u.UploadID, first.UploadID)
		}
		saved = u
		return nil
	}
	var info archive.ObjectInfo
	for attempt := 0; ; attempt++ {
		info, err = a.Put(ctx, req)
		if err == nil || attempt == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond) // the server may still be starting its drives
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := info.Check(req, saved.Parts); err != nil {
		t.Fatal(err)
	}
	archivetest.AssertContent(t, a, req.Key, info.VersionID, sha)
	archivetest.AssertVersions(t, a, req.Key, 1)
}

// secure: true with a private CA in ca_file; without the CA the server's
// certificate is refused.
func TestArchiveTLSWithPrivateCA(t *testing.T) {
	srv := miniotest.StartTLS(t)
	ctx := context.Background()
	cfg := archive.Config{Endpoint: srv.Endpoint, Bucket: "evidence", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Secure: true, CAFile: srv.CAFile}
	a, err := archive.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	data, sha := archivetest.Blob(90, 1000)
	req := archivetest.Request("st01/tls/"+sha+".mp4", data, sha)
	info, err := a.Put(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := info.Check(req, nil); err != nil {
		t.Fatal(err)
	}

	cfg.CAFile = ""
	untrusting, err := archive.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := untrusting.Check(ctx); archive.KindOf(err) != archive.KindAuth {
		t.Errorf("check without the CA: %v (kind %q), want a permanent auth error", err, archive.KindOf(err))
	}
}
