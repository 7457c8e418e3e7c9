package archive_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
)

// s3Operation names an S3 request as the S3 API reference does, with
// "?versionId" when it is for a given version (see s3Calls).
func s3Operation(r *http.Request) string {
	q := r.URL.Query()
	path := strings.Trim(r.URL.Path, "/")
	ver := ""
	if q.Has("versionId") {
		ver = "?versionId"
	}
	if !strings.Contains(path, "/") { // the bucket itself
		for _, c := range []struct{ method, query, op string }{
			{"GET", "location", "GetBucketLocation"}, {"GET", "object-lock", "GetObjectLockConfiguration"},
			{"GET", "versioning", "GetBucketVersioning"}, {"GET", "lifecycle", "GetBucketLifecycleConfiguration"},
			{"PUT", "lifecycle", "PutBucketLifecycleConfiguration"}, {"GET", "versions", "ListObjectVersions"},
			{"POST", "delete", "DeleteObjects"}, {"GET", "list-type", "ListObjectsV2"},
		} {
			if r.Method == c.method && q.Has(c.query) {
				return c.op
			}
		}
		switch r.Method {
		case "HEAD":
			return "HeadBucket"
		case "PUT":
			return "CreateBucket"
		}
		return "unknown " + r.Method + " bucket?" + r.URL.RawQuery
	}
	sub := map[string]string{"legal-hold": "ObjectLegalHold", "tagging": "ObjectTagging"}
	for k, name := range sub {
		if q.Has(k) {
			return strings.ToUpper(r.Method[:1]) + strings.ToLower(r.Method[1:]) + name + ver
		}
	}
	switch {
	case r.Method == "HEAD":
		return "HeadObject" + ver
	case r.Method == "GET" && q.Has("uploadId"):
		return "ListParts"
	case r.Method == "GET":
		return "GetObject" + ver
	case r.Method == "PUT" && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == "PUT":
		return "PutObject"
	case r.Method == "POST" && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == "POST" && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == "DELETE" && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == "DELETE":
		return "DeleteObject" + ver
	}
	return "unknown " + r.Method + " object?" + r.URL.RawQuery
}

// opRecorder notes the S3 operation of every request it carries.
type opRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]int
}

func (o *opRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	o.mu.Lock()
	o.seen[s3Operation(r)]++
	o.mu.Unlock()
	return o.next.RoundTrip(r)
}

// The table is what the client really sends: the conformance suite, then
// the retention operations it does not cover, against MinIO, every
// request recorded and each found in s3Calls.
func TestS3CallsAreWhatTheClientSends(t *testing.T) {
	srv := miniotest.Start(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	rec := &opRecorder{next: tr, seen: map[string]int{}}
	archivetest.Conformance(t, func(t *testing.T) archivetest.Store { return archivetest.OnMinIO(t, srv, rec) })

	a := archivetest.OnMinIO(t, srv, rec)
	ctx := context.Background()
	data, sha := archivetest.Blob(90, 1000)
	info, err := a.Put(ctx, archivetest.Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha))
	if err != nil {
		t.Fatal(err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("hold", a.SetLegalHold(ctx, info.Key, info.VersionID, true))
	must("release", a.SetLegalHold(ctx, info.Key, info.VersionID, false))
	must("tag latest", a.SetTags(ctx, info.Key, "", archive.CaseTags([]string{"C1"}, nil)))
	_, err = a.Tags(ctx, info.Key, "")
	must("tags of latest", err)
	marker, err := a.MarkDeleted(ctx, info.Key)
	must("mark", err)
	_, err = a.Markers(ctx, info.Key)
	must("markers", err)
	must("undelete", a.Undelete(ctx, info.Key, marker))
	_, err = a.List(ctx, "st01/audit/")
	must("list", err)

	var known []string
	for _, reqs := range s3Calls {
		known = append(known, reqs...)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for op, n := range rec.seen {
		if !slices.Contains(known, op) {
			t.Errorf("the client sent %s (%d times), which s3Calls does not list", op, n)
		}
	}
	t.Logf("operations sent: %v", rec.seen)
}
