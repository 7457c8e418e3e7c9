package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"custodian/internal/miniotest"
)

var bucketSeq atomic.Int64

// minioArchive returns an Archive on a fresh bucket made by Init.
func minioArchive(t *testing.T, srv *miniotest.Server, tr http.RoundTripper) *Archive {
	t.Helper()
	a, err := NewArchive(ArchiveConfig{
		Endpoint: srv.Endpoint, Bucket: fmt.Sprintf("evidence-%d", bucketSeq.Add(1)),
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PartSize: testPartSize, Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

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
	runConformance(t, func(t *testing.T) conformanceStore { return minioArchive(t, srv, nil) })
}

func TestArchiveInit(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()
	a := minioArchive(t, srv, nil)
	rep, err := a.Init(ctx)
	if err != nil || rep.Created {
		t.Fatalf("second init: %+v err=%v, want an unchanged bucket", rep, err)
	}
	if rep.LifecycleErr != nil {
		// MinIO refuses AbortIncompleteMultipartUpload and expires stale
		// uploads on its own; S3 and Ceph take the rule. Init must carry on.
		if KindOf(rep.LifecycleErr) != KindRejected {
			t.Errorf("lifecycle refusal of kind %q: %v", KindOf(rep.LifecycleErr), rep.LifecycleErr)
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
		if r.ID == lifecycleRuleID && int(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) == AbortIncompleteDays {
			found = true
		}
	}
	if !found {
		t.Errorf("lifecycle rules %+v lack %s", lc.Rules, lifecycleRuleID)
	}
}

func TestArchiveRefusesBucketWithoutObjectLock(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()
	if err := rootClient(t, srv).MakeBucket(ctx, "plain", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	a, err := NewArchive(ArchiveConfig{Endpoint: srv.Endpoint, Bucket: "plain", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Init(ctx); !errors.Is(err, ErrNoObjectLock) || KindOf(err) != KindBucket {
		t.Errorf("init: %v, want ErrNoObjectLock of kind bucket", err)
	}
	if err := a.Check(ctx); !errors.Is(err, ErrNoObjectLock) {
		t.Errorf("check: %v, want ErrNoObjectLock", err)
	}
	data, sha := testBlob(21, 1000)
	if _, err := a.Put(ctx, testRequest("st01/p/"+sha+".mp4", data, sha)); KindOf(err) != KindBucket {
		t.Errorf("put with a lock into a bucket without Object Lock: %v (kind %q), want kind bucket", err, KindOf(err))
	}
	a.bucket = "absent"
	if err := a.Check(ctx); !errors.Is(err, ErrNoBucket) {
		t.Errorf("check of a missing bucket: %v, want ErrNoBucket", err)
	}
}

func TestArchiveWrongCredentials(t *testing.T) {
	srv := miniotest.Start(t)
	good := minioArchive(t, srv, nil)
	a, err := NewArchive(ArchiveConfig{Endpoint: srv.Endpoint, Bucket: good.Bucket(), AccessKey: srv.AccessKey, SecretKey: "wrong-secret"})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Check(context.Background())
	if KindOf(err) != KindAuth || !KindOf(err).Permanent() {
		t.Fatalf("check with a wrong secret: %v (kind %q), want a permanent auth error", err, KindOf(err))
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error shows the secret: %v", err)
	}
	data, sha := testBlob(20, 1000)
	_, err = a.Put(context.Background(), testRequest("st01/x/"+sha+".mp4", data, sha))
	if KindOf(err) != KindAuth {
		t.Errorf("put with a wrong secret: %v, want kind auth", err)
	}
}

func TestArchiveUnreachableIsTransient(t *testing.T) {
	srv := miniotest.Start(t)
	a := minioArchive(t, srv, nil)
	srv.Stop()
	err := a.Check(context.Background())
	if KindOf(err) != KindNetwork || KindOf(err).Permanent() {
		t.Fatalf("check of a stopped server: %v (kind %q), want a transient network error", err, KindOf(err))
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
// the header goes out on the single PUT and on every part.
func TestArchiveSendsChecksumHeaders(t *testing.T) {
	srv := miniotest.Start(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: tr}
	a := minioArchive(t, srv, rec)
	ctx := context.Background()

	small, ssha := testBlob(30, 1000)
	if _, err := a.Put(ctx, testRequest("st01/s/"+ssha+".mp4", small, ssha)); err != nil {
		t.Fatal(err)
	}
	big, bsha := testBlob(31, testPartSize+1)
	if _, err := a.Put(ctx, testRequest("st01/b/"+bsha+".mp4", big, bsha)); err != nil {
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
		if h.Get("X-Amz-Content-Sha256") == "" || strings.HasPrefix(h.Get("X-Amz-Content-Sha256"), "UNSIGNED") {
			t.Errorf("PUT %q with an unsigned payload", q)
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
	a := minioArchive(t, srv, nil)
	ctx := context.Background()
	data, sha := testBlob(40, 1000)
	req := testRequest("st01/l/"+sha+".mp4", data, sha)
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
	a := minioArchive(t, srv, nil)
	ctx := context.Background()
	data, sha := testBlob(50, 3*testPartSize+10)
	req := testRequest("st01/r/"+sha+".mp4", data, sha)
	var saved MultipartUpload
	req.Save = func(u MultipartUpload) error {
		saved = u
		if len(u.Parts) == 1 {
			srv.Stop()
		}
		return nil
	}
	_, err := a.Put(ctx, req)
	if k := KindOf(err); k != KindNetwork {
		t.Fatalf("put while the server stops: %v (kind %q), want network", err, k)
	}
	srv.Restart()
	first := saved
	req.Resume = &first
	req.Save = func(u MultipartUpload) error {
		if u.UploadID != first.UploadID {
			t.Errorf("new upload id %s, want %s", u.UploadID, first.UploadID)
		}
		saved = u
		return nil
	}
	var info ObjectInfo
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
	assertContent(t, a, req.Key, info.VersionID, sha)
	assertVersions(t, a, req.Key, 1)
}

// secure: true with a private CA in ca_file; without the CA the server's
// certificate is refused.
func TestArchiveTLSWithPrivateCA(t *testing.T) {
	srv := miniotest.StartTLS(t)
	ctx := context.Background()
	cfg := ArchiveConfig{Endpoint: srv.Endpoint, Bucket: "evidence", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Secure: true, CAFile: srv.CAFile}
	a, err := NewArchive(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	data, sha := testBlob(90, 1000)
	req := testRequest("st01/tls/"+sha+".mp4", data, sha)
	info, err := a.Put(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := info.Check(req, nil); err != nil {
		t.Fatal(err)
	}

	cfg.CAFile = ""
	untrusting, err := NewArchive(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := untrusting.Check(ctx); KindOf(err) != KindAuth {
		t.Errorf("check without the CA: %v (kind %q), want a permanent auth error", err, KindOf(err))
	}
}
