package upload

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
)

// partWatcher calls onPart after each part PUT the server answered, and
// keeps the upload ids of every multipart start and completion.
type partWatcher struct {
	mu        sync.Mutex
	next      http.RoundTripper
	onPart    func(n int)
	parts     int
	starts    int
	completed []string
}

func (w *partWatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	q := req.URL.Query()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil:
	case req.Method == http.MethodPost && q.Has("uploads"):
		w.starts++
	case req.Method == http.MethodPost && q.Get("uploadId") != "" && resp.StatusCode == 200:
		w.completed = append(w.completed, q.Get("uploadId"))
	case req.Method == http.MethodPut && q.Get("uploadId") != "" && resp.StatusCode == 200:
		w.parts++
		if w.onPart != nil {
			w.onPart(w.parts)
		}
	}
	return resp, err
}

func newMinioUploaderEnv(t *testing.T, srv *miniotest.Server) (*uploaderEnv, *archive.Client, *partWatcher) {
	t.Helper()
	e := newUploaderEnv(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	w := &partWatcher{next: tr}
	a := archivetest.OnMinIO(t, srv, w)
	return e, a, w
}

func (e *uploaderEnv) uploaderOn(t *testing.T, store archive.ObjectStore) *Uploader {
	t.Helper()
	saved := e.store
	defer func() { e.store = saved }()
	u := e.uploader(t, nil)
	u.store = store
	return u
}

// MinIO stops in the middle of a multipart upload and starts again later:
// the uploader waits, resumes the same upload, and leaves one version.
func TestUploaderMinIOStopsMidUpload(t *testing.T) {
	srv := miniotest.Start(t)
	e, a, w := newMinioUploaderEnv(t, srv)
	data, _ := archivetest.Blob(70, 3*archivetest.PartSize+3)
	r := e.addVerified(t, "big.MP4", data, time.Now())
	stopped := make(chan struct{})
	w.onPart = func(n int) {
		if n == 1 {
			go func() { srv.Stop(); close(stopped) }()
		}
	}
	u := e.uploaderOn(t, a)
	restarted := false
	runUntil(t, u, func() bool {
		select {
		case <-stopped:
			if !restarted && testutil.ToFloat64(e.m.Errors.WithLabelValues(string(archive.KindNetwork))) >= 1 {
				srv.Restart()
				restarted = true
			}
		default:
		}
		return e.state(t, r.ID).State == catalog.StateArchived
	})
	if !restarted {
		t.Fatal("archived without the server stopping")
	}
	rec := e.state(t, r.ID)
	vs, err := a.Versions(context.Background(), rec.ArchiveKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0] != rec.ArchiveVersion {
		t.Errorf("versions %v, want only the recorded %s", vs, rec.ArchiveVersion)
	}
	if w.starts != 1 {
		t.Errorf("%d multipart uploads started, want 1", w.starts)
	}
	archivetest.AssertContent(t, a, rec.ArchiveKey, rec.ArchiveVersion, r.SHA256)
}

// custodian is killed mid-multipart; the next process resumes the upload id.
func TestUploaderMinIOResumesAfterKill(t *testing.T) {
	srv := miniotest.Start(t)
	e, a, w := newMinioUploaderEnv(t, srv)
	data, _ := archivetest.Blob(71, 3*archivetest.PartSize+3)
	r := e.addVerified(t, "big.MP4", data, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	w.onPart = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	if err := e.uploaderOn(t, a).Run(ctx); err != nil {
		t.Fatal(err)
	}
	saved, ok, err := savedUpload(e.cat, r.ID)
	if err != nil || !ok {
		t.Fatalf("no saved upload: %v", err)
	}
	w.onPart = nil
	runUntil(t, e.uploaderOn(t, a), e.allArchived(t, r))
	if len(w.completed) != 1 || w.completed[0] != saved.UploadID {
		t.Errorf("completed %v, want the saved upload %s", w.completed, saved.UploadID)
	}
	if w.starts != 1 {
		t.Errorf("%d multipart uploads started, want 1", w.starts)
	}
	rec := e.state(t, r.ID)
	archivetest.AssertContent(t, a, rec.ArchiveKey, rec.ArchiveVersion, r.SHA256)
	if !strings.HasPrefix(rec.ArchiveKey, "st01/2026/11/21/012345/") {
		t.Errorf("key %s", rec.ArchiveKey)
	}
}

// A hold placed while its recording uploads to a real MinIO: the archived
// version carries the legal hold (read back from MinIO), and the catalog's
// legal_hold, once the hold returned, is true at every moment after.
func TestUploaderMinIOHoldDuringUpload(t *testing.T) {
	srv := miniotest.Start(t)
	e, a, w := newMinioUploaderEnv(t, srv)
	data, _ := archivetest.Blob(63, 3*archivetest.PartSize+7)
	r := e.addVerified(t, "held-during-upload.MP4", data, time.Now())
	var held sync.Once
	heldAt := make(chan struct{})
	w.mu.Lock()
	w.onPart = func(n int) {
		if n != 2 {
			return
		}
		held.Do(func() {
			go func() { // the part's response must not wait for the catalog
				_, err := e.cat.Update(r.ID, func(x *catalog.Recording) error {
					x.Holds = append(x.Holds, catalog.Hold{Reason: catalog.HoldEvidence, Case: "C-9", By: "wang.li", At: time.Now()})
					x.LegalHold = true // as retention's hold does before archiving
					return nil
				})
				if err != nil {
					t.Error(err)
				}
				close(heldAt)
			}()
		})
	}
	w.mu.Unlock()
	u := e.uploaderOn(t, a)
	var flips int
	runUntil(t, u, func() bool {
		returned := false
		select {
		case <-heldAt:
			returned = true
		default:
		}
		s := e.state(t, r.ID) // read after: a hold that returned must show
		if returned && !s.LegalHold {
			flips++
		}
		return s.State == catalog.StateArchived && s.LegalHold
	})
	if flips > 0 {
		t.Errorf("legal_hold read false %d times after the hold returned", flips)
	}
	s := e.state(t, r.ID)
	info, err := a.Head(t.Context(), s.ArchiveKey, s.ArchiveVersion)
	if err != nil || !info.LegalHold {
		t.Fatalf("archived version %+v (%v): no legal hold in MinIO", info, err)
	}
}
