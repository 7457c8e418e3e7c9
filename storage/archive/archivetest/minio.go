package archivetest

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
)

var bucketSeq atomic.Int64

// OnMinIO is a client of a fresh Object Lock bucket on srv, made by Init;
// tr, when set, carries its requests.
func OnMinIO(t *testing.T, srv *miniotest.Server, tr http.RoundTripper) *archive.Client {
	t.Helper()
	a, err := archive.New(archive.Config{
		Endpoint: srv.Endpoint, Bucket: fmt.Sprintf("evidence-%d", bucketSeq.Add(1)),
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PartSize: PartSize, Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}
