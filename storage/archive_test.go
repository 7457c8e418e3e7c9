package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// conformanceStore is an ObjectStore the suite can also try to delete from
// and list versions of.
type conformanceStore interface {
	ObjectStore
	Remove(ctx context.Context, key, versionID string) error
	Versions(ctx context.Context, key string) ([]string, error)
}

const testPartSize = MinPartSize

// testBlob is deterministic random content and its hash.
func testBlob(seed uint64, size int) ([]byte, string) {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	s := sha256.Sum256(b)
	return b, hex.EncodeToString(s[:])
}

func testRequest(key string, data []byte, sha string) PutRequest {
	return PutRequest{
		Key:         key,
		SHA256:      sha,
		Size:        int64(len(data)),
		Body:        bytes.NewReader(data),
		Metadata:    map[string]string{MetaSHA256: sha, MetaStation: "st01", MetaOriginalName: "J0123456_012345_20261121083015_0001.MP4"},
		RetainUntil: time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second),
	}
}

// runConformance runs the archive contract against a fresh store from open.
// Every store must behave the same: the fake stands in for MinIO and S3 in
// the uploader tests only because it passes these.
func runConformance(t *testing.T, open func(t *testing.T) conformanceStore) {
	ctx := context.Background()

	t.Run("check", func(t *testing.T) {
		if err := open(t).Check(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("single put is locked and proven", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(1, 100_000)
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
		info, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if info.VersionID == "" {
			t.Fatal("no version id")
		}
		if err := info.Check(req, nil); err != nil {
			t.Fatal(err)
		}
		if info.LegalHold {
			t.Error("legal hold set without being asked")
		}
		if got := info.Metadata[MetaOriginalName]; got != req.Metadata[MetaOriginalName] {
			t.Errorf("original-name metadata %q", got)
		}
		head, err := a.Head(ctx, req.Key, info.VersionID)
		if err != nil {
			t.Fatal(err)
		}
		if err := head.Check(req, nil); err != nil {
			t.Fatal(err)
		}
		assertContent(t, a, req.Key, info.VersionID, sha)
	})

	t.Run("legal hold", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(2, 1000)
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
		req.LegalHold = true
		info, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !info.LegalHold {
			t.Fatal("legal hold not set")
		}
		if err := info.Check(req, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("put again adds no version", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(3, 1000)
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
		first, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		second, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if first.VersionID != second.VersionID {
			t.Errorf("second put made version %s, first %s", second.VersionID, first.VersionID)
		}
		assertVersions(t, a, req.Key, 1)
	})

	t.Run("multipart with part checksums", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(4, 2*testPartSize+12345)
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
		var saved MultipartUpload
		req.Save = func(u MultipartUpload) error { saved = u; return nil }
		info, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(saved.Parts) != 3 || saved.UploadID == "" {
			t.Fatalf("saved progress %+v, want 3 parts and an upload id", saved)
		}
		if !strings.HasSuffix(info.ChecksumSHA256, "-3") {
			t.Errorf("checksum %q is not a 3-part composite", info.ChecksumSHA256)
		}
		if err := info.Check(req, saved.Parts); err != nil {
			t.Fatal(err)
		}
		assertContent(t, a, req.Key, info.VersionID, sha)
	})

	t.Run("multipart resumes the same upload", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(5, 3*testPartSize+1)
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
		crash := errors.New("killed")
		var saved MultipartUpload
		req.Save = func(u MultipartUpload) error {
			saved = u
			if len(u.Parts) == 2 {
				return crash // the process dies right after saving part 2
			}
			return nil
		}
		if _, err := a.Put(ctx, req); !errors.Is(err, crash) {
			t.Fatalf("first attempt: %v, want the crash", err)
		}
		first := saved
		var sent []int
		req.Resume = &first
		req.Save = func(u MultipartUpload) error {
			if u.UploadID != first.UploadID {
				t.Errorf("upload id %s, want %s", u.UploadID, first.UploadID)
			}
			sent = append(sent, u.Parts[len(u.Parts)-1].Number)
			saved = u
			return nil
		}
		info, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		// Parts go up concurrently: compare as sets. Only the parts the
		// crashed attempt had not saved are sent again.
		slices.Sort(sent)
		var want []int
		for n := 1; n <= 4; n++ {
			if !slices.ContainsFunc(first.Parts, func(p UploadedPart) bool { return p.Number == n }) {
				want = append(want, n)
			}
		}
		if len(first.Parts) != 2 || !slices.Equal(sent, want) {
			t.Errorf("crashed after saving %d parts; resumed attempt sent parts %v, want %v", len(first.Parts), sent, want)
		}
		if err := info.Check(req, saved.Parts); err != nil {
			t.Fatal(err)
		}
		assertContent(t, a, req.Key, info.VersionID, sha)
		assertVersions(t, a, req.Key, 1)
	})

	t.Run("aborted upload starts again", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(10, 2*testPartSize+5)
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
		crash := errors.New("killed")
		var saved MultipartUpload
		req.Save = func(u MultipartUpload) error {
			saved = u
			if len(u.Parts) == 1 {
				return crash
			}
			return nil
		}
		if _, err := a.Put(ctx, req); !errors.Is(err, crash) {
			t.Fatalf("first attempt: %v", err)
		}
		if err := a.Abort(ctx, req.Key, saved.UploadID); err != nil {
			t.Fatal(err)
		}
		if err := a.Abort(ctx, req.Key, saved.UploadID); err != nil {
			t.Errorf("second abort: %v", err)
		}
		aborted := saved
		req.Resume = &aborted
		req.Save = func(u MultipartUpload) error { saved = u; return nil }
		info, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if saved.UploadID == aborted.UploadID {
			t.Error("completed with the aborted upload id")
		}
		if err := info.Check(req, saved.Parts); err != nil {
			t.Fatal(err)
		}
		assertContent(t, a, req.Key, info.VersionID, sha)
	})

	t.Run("body not matching its sha256 is refused", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(6, 5000)
		bad := bytes.Clone(data)
		bad[100] ^= 1
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", bad, sha)
		_, err := a.Put(ctx, req)
		if err == nil {
			t.Fatal("altered body accepted")
		}
		if k := KindOf(err); !k.Permanent() {
			t.Errorf("kind %q, want a permanent kind: %v", k, err)
		}
		if _, err := a.Head(ctx, req.Key, ""); !errors.Is(err, ErrObjectNotFound) {
			t.Errorf("head after refused put: %v, want not found", err)
		}
	})

	t.Run("staged copy altered during a multipart upload", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(9, 2*testPartSize+1)
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
		req.Save = func(u MultipartUpload) error {
			if len(u.Parts) == 1 {
				data[len(data)-1] ^= 1 // the disk rots under the upload
			}
			return nil
		}
		if _, err := a.Put(ctx, req); !errors.Is(err, ErrHashMismatch) {
			t.Fatalf("put: %v, want ErrHashMismatch", err)
		}
		if _, err := a.Head(ctx, req.Key, ""); !errors.Is(err, ErrObjectNotFound) {
			t.Errorf("head: %v, want not found", err)
		}
	})

	t.Run("locked version cannot be deleted or overwritten", func(t *testing.T) {
		a := open(t)
		data, sha := testBlob(7, 5000)
		req := testRequest("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
		info, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Remove(ctx, req.Key, info.VersionID); err == nil {
			t.Fatal("delete of a locked version succeeded")
		}
		other, osha := testBlob(8, 5000)
		over := testRequest(req.Key, other, osha)
		if _, err := a.Put(ctx, over); err != nil {
			t.Fatal(err)
		}
		// A write to the key is a new version; the locked one is intact.
		assertContent(t, a, req.Key, info.VersionID, sha)
	})

	t.Run("missing object", func(t *testing.T) {
		a := open(t)
		if _, err := a.Head(ctx, "st01/none", ""); !errors.Is(err, ErrObjectNotFound) {
			t.Errorf("head: %v, want ErrObjectNotFound", err)
		}
		if _, err := a.Get(ctx, "st01/none", ""); !errors.Is(err, ErrObjectNotFound) {
			t.Errorf("get: %v, want ErrObjectNotFound", err)
		}
	})
}

func assertContent(t *testing.T, a ObjectStore, key, version, sha string) {
	t.Helper()
	rc, err := a.Get(context.Background(), key, version)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _, err := HashReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got != sha {
		t.Fatalf("version %s of %s hashes to %s, want %s", version, key, got, sha)
	}
}

func assertVersions(t *testing.T, a conformanceStore, key string, n int) {
	t.Helper()
	vs, err := a.Versions(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != n {
		t.Fatalf("%s has %d versions %v, want %d", key, len(vs), vs, n)
	}
}

func TestArchiveConformanceFake(t *testing.T) {
	runConformance(t, func(t *testing.T) conformanceStore { return newFakeArchive(testPartSize) })
}

func TestCompositeChecksum(t *testing.T) {
	parts := []UploadedPart{
		{Number: 2, SHA256: "YmJi"}, // order must not matter
		{Number: 1, SHA256: "YWFh"},
	}
	got, err := CompositeChecksum(parts)
	if err != nil {
		t.Fatal(err)
	}
	// sha256("aaabbb") in base64, then the part count.
	if want := "LOEJ6dD6+CCyQ04WYpeTTmF3tlq5lR28PiBMrUaJs5w=-2"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
