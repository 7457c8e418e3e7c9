package archive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
)

// partLog keeps the numbers of the parts PUT, in order.
type partLog struct {
	mu    sync.Mutex
	next  http.RoundTripper
	parts []int
}

func (l *partLog) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	if req.Method == http.MethodPut && q.Get("uploadId") != "" {
		n, _ := strconv.Atoi(q.Get("partNumber"))
		l.mu.Lock()
		l.parts = append(l.parts, n)
		l.mu.Unlock()
	}
	return l.next.RoundTrip(req)
}

func (l *partLog) take() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.parts
	l.parts = nil
	return out
}

// custodian dies after the server took part 3 but before the catalog
// recorded it, and the server's part 2 is no longer what was recorded: the
// resumed upload trusts the server's list, adopts part 3 (its checksum is
// that of the staged bytes) and sends part 2 again.
func TestArchiveResumeTrustsTheServersParts(t *testing.T) {
	srv := miniotest.Start(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	log := &partLog{next: tr}
	a := archivetest.OnMinIO(t, srv, log)
	ctx := context.Background()
	data, sha := archivetest.Blob(61, 4*archivetest.PartSize+10)
	req := archivetest.Request("st01/adopt/"+sha+".mp4", data, sha)
	req.Pace = func(context.Context, int) error { return nil } // one part at a time
	died := errors.New("killed before the catalog write")
	var saved archive.MultipartUpload
	req.Save = func(u archive.MultipartUpload) error {
		if len(u.Parts) == 3 {
			return died
		}
		saved = u
		return nil
	}
	if _, err := a.Put(ctx, req); !errors.Is(err, died) {
		t.Fatalf("first attempt: %v, want it killed", err)
	}
	if len(saved.Parts) != 2 {
		t.Fatalf("saved %d parts, want 2", len(saved.Parts))
	}
	replacePart(t, srv, a.Bucket(), req.Key, saved.UploadID, 2, bytes.Repeat([]byte{7}, archivetest.PartSize))
	log.take()

	first := saved
	req.Resume = &first
	req.Save = func(u archive.MultipartUpload) error { saved = u; return nil }
	info, err := a.Put(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sent := log.take()
	if !slices.Contains(sent, 2) || slices.Contains(sent, 1) || slices.Contains(sent, 3) {
		t.Errorf("resumed upload sent parts %v, want 2 again and neither 1 nor 3", sent)
	}
	if err := info.Check(req, saved.Parts); err != nil {
		t.Fatal(err)
	}
	archivetest.AssertContent(t, a, req.Key, info.VersionID, sha)
	archivetest.AssertVersions(t, a, req.Key, 1)
}

// replacePart puts other bytes as part n of an upload, behind custodian's back.
func replacePart(t *testing.T, srv *miniotest.Server, bucket, key, uploadID string, n int, data []byte) {
	t.Helper()
	sum := sha256.Sum256(data)
	hdr := http.Header{}
	hdr.Set("x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(sum[:]))
	core := minio.Core{Client: rootClient(t, srv)}
	if _, err := core.PutObjectPart(context.Background(), bucket, key, uploadID, n, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectPartOptions{CustomHeader: hdr}); err != nil {
		t.Fatal(err)
	}
}

// flipper changes one byte of every object or part body it carries, as a
// faulty link or middlebox might.
type flipper struct{ next http.RoundTripper }

func (f flipper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.Body != nil && strings.Contains(req.URL.Path, "/st01/") {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		b[len(b)/2] ^= 1
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return f.next.RoundTrip(req)
}

// The payload is not part of the signature; the SHA-256 checksum, signed,
// is what holds the body: a byte changed on the way is refused, for a
// single PUT and for a part, and nothing is stored.
func TestArchiveRefusesBodyChangedInTransit(t *testing.T) {
	srv := miniotest.Start(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	a := archivetest.OnMinIO(t, srv, flipper{next: tr})
	for _, size := range []int{1000, archivetest.PartSize + 1} {
		data, sha := archivetest.Blob(uint64(62+size), size)
		req := archivetest.Request("st01/flip/"+sha+".mp4", data, sha)
		_, err := a.Put(context.Background(), req)
		if k := archive.KindOf(err); k != archive.KindRejected {
			t.Errorf("%d bytes changed in transit: %v (kind %q), want rejected", size, err, k)
		}
		archivetest.AssertVersions(t, a, req.Key, 0)
	}
}
