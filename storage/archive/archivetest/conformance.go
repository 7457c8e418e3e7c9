package archivetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"custodian/internal/digest"
	"custodian/storage/archive"
)

// Store is an archive.ObjectStore the suite can also try to delete from
// and list versions of.
type Store interface {
	archive.ObjectStore
	Remove(ctx context.Context, key, versionID string) error
	Versions(ctx context.Context, key string) ([]string, error)
}

const PartSize = archive.MinPartSize

// Blob is deterministic random content and its hash.
func Blob(seed uint64, size int) ([]byte, string) {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	s := sha256.Sum256(b)
	return b, hex.EncodeToString(s[:])
}

func Request(key string, data []byte, sha string) archive.PutRequest {
	return archive.PutRequest{
		Key:         key,
		SHA256:      sha,
		Size:        int64(len(data)),
		Body:        bytes.NewReader(data),
		Metadata:    map[string]string{archive.MetaSHA256: sha, archive.MetaStation: "st01", archive.MetaOriginalName: "J0123456_012345_20261121083015_0001.MP4"},
		RetainUntil: time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second),
	}
}

// Conformance runs the archive contract against a fresh store from open.
// Every store must behave the same: the fake stands in for MinIO and S3 in
// the uploader tests only because it passes these.
func Conformance(t *testing.T, open func(t *testing.T) Store) {
	t.Run("check", func(t *testing.T) { testCheck(t, open(t)) })
	t.Run("single put is locked and proven", func(t *testing.T) { testSinglePut(t, open(t)) })
	t.Run("legal hold", func(t *testing.T) { testLegalHold(t, open(t)) })
	t.Run("put again adds no version", func(t *testing.T) { testPutAgain(t, open(t)) })
	t.Run("multipart with part checksums", func(t *testing.T) { testMultipart(t, open(t)) })
	t.Run("multipart resumes the same upload", func(t *testing.T) { testMultipartResumes(t, open(t)) })
	t.Run("aborted upload starts again", func(t *testing.T) { testAbortedUpload(t, open(t)) })
	t.Run("body not matching its sha256 is refused", func(t *testing.T) { testBodyMismatch(t, open(t)) })
	t.Run("staged copy altered during a multipart upload", func(t *testing.T) { testAlteredDuringMultipart(t, open(t)) })
	t.Run("locked version cannot be deleted or overwritten", func(t *testing.T) { testLockedVersion(t, open(t)) })
	t.Run("missing object", func(t *testing.T) { testMissingObject(t, open(t)) })
	t.Run("case tags at upload, changed later, read back", func(t *testing.T) { testTags(t, open(t)) })
}

func testTags(t *testing.T, a Store) {
	ctx := context.Background()
	for i, size := range []int{10_000, 2*PartSize + 3} {
		data, sha := Blob(uint64(70+i), size)
		req := Request(fmt.Sprintf("st01/tags/%d-%s.mp4", i, sha), data, sha)
		req.Tags = archive.CaseTags([]string{"C-2026-0042"}, []uint64{7, 9})
		info, err := a.Put(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Tags(ctx, info.Key, info.VersionID)
		if err != nil || !maps.Equal(got, req.Tags) {
			t.Fatalf("size %d: tags %v (%v), want %v", size, got, err, req.Tags)
		}
		later := archive.CaseTags([]string{"C-2026-0042", "C-2026-0050"}, []uint64{7, 9})
		if err := a.SetTags(ctx, info.Key, info.VersionID, later); err != nil {
			t.Fatal(err)
		}
		if got, err := a.Tags(ctx, info.Key, info.VersionID); err != nil || !maps.Equal(got, later) {
			t.Fatalf("after SetTags: %v (%v)", got, err)
		}
	}
}

func testCheck(t *testing.T, a Store) {
	if err := a.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func testSinglePut(t *testing.T, a Store) {
	ctx := context.Background()
	data, sha := Blob(1, 100_000)
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
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
	if got := info.Metadata[archive.MetaOriginalName]; got != req.Metadata[archive.MetaOriginalName] {
		t.Errorf("original-name metadata %q", got)
	}
	head, err := a.Head(ctx, req.Key, info.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if err := head.Check(req, nil); err != nil {
		t.Fatal(err)
	}
	AssertContent(t, a, req.Key, info.VersionID, sha)
}

func testLegalHold(t *testing.T, a Store) {
	ctx := context.Background()
	data, sha := Blob(2, 1000)
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
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
}

func testPutAgain(t *testing.T, a Store) {
	ctx := context.Background()
	data, sha := Blob(3, 1000)
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
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
	AssertVersions(t, a, req.Key, 1)
}

func testMultipart(t *testing.T, a Store) {
	ctx := context.Background()
	data, sha := Blob(4, 2*PartSize+12345)
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
	var saved archive.MultipartUpload
	req.Save = func(u archive.MultipartUpload) error { saved = u; return nil }
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
	AssertContent(t, a, req.Key, info.VersionID, sha)
}

func testMultipartResumes(t *testing.T, a Store) {
	ctx := context.Background()
	data, sha := Blob(5, 3*PartSize+1)
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
	crash := errors.New("killed")
	var saved archive.MultipartUpload
	req.Save = func(u archive.MultipartUpload) error {
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
	req.Save = func(u archive.MultipartUpload) error {
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
		if !slices.ContainsFunc(first.Parts, func(p archive.UploadedPart) bool { return p.Number == n }) {
			want = append(want, n)
		}
	}
	if len(first.Parts) != 2 || !slices.Equal(sent, want) {
		t.Errorf("crashed after saving %d parts; resumed attempt sent parts %v, want %v", len(first.Parts), sent, want)
	}
	if err := info.Check(req, saved.Parts); err != nil {
		t.Fatal(err)
	}
	AssertContent(t, a, req.Key, info.VersionID, sha)
	AssertVersions(t, a, req.Key, 1)
}

func testAbortedUpload(t *testing.T, a Store) {
	ctx := context.Background()
	data, sha := Blob(10, 2*PartSize+5)
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
	crash := errors.New("killed")
	var saved archive.MultipartUpload
	req.Save = func(u archive.MultipartUpload) error {
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
	req.Save = func(u archive.MultipartUpload) error { saved = u; return nil }
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
	AssertContent(t, a, req.Key, info.VersionID, sha)
}

func testBodyMismatch(t *testing.T, a Store) {
	ctx := context.Background()
	data, sha := Blob(6, 5000)
	bad := bytes.Clone(data)
	bad[100] ^= 1
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", bad, sha)
	_, err := a.Put(ctx, req)
	if err == nil {
		t.Fatal("altered body accepted")
	}
	if k := archive.KindOf(err); !k.Permanent() {
		t.Errorf("kind %q, want a permanent kind: %v", k, err)
	}
	if _, err := a.Head(ctx, req.Key, ""); !errors.Is(err, archive.ErrObjectNotFound) {
		t.Errorf("head after refused put: %v, want not found", err)
	}
}

func testAlteredDuringMultipart(t *testing.T, a Store) {
	ctx := context.Background()
	// More parts than a client keeps in flight: the last is read after the
	// first is saved.
	data, sha := Blob(9, 5*PartSize+1)
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
	req.Save = func(u archive.MultipartUpload) error {
		if len(u.Parts) == 1 {
			data[len(data)-1] ^= 1 // the disk rots under the upload
		}
		return nil
	}
	if _, err := a.Put(ctx, req); !errors.Is(err, digest.ErrMismatch) {
		t.Fatalf("put: %v, want ErrHashMismatch", err)
	}
	if _, err := a.Head(ctx, req.Key, ""); !errors.Is(err, archive.ErrObjectNotFound) {
		t.Errorf("head: %v, want not found", err)
	}
}

func testLockedVersion(t *testing.T, a Store) {
	ctx := context.Background()
	data, sha := Blob(7, 5000)
	req := Request("st01/2026/11/21/012345/"+sha+".mp4", data, sha)
	info, err := a.Put(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Remove(ctx, req.Key, info.VersionID); err == nil {
		t.Fatal("delete of a locked version succeeded")
	}
	other, osha := Blob(8, 5000)
	over := Request(req.Key, other, osha)
	if _, err := a.Put(ctx, over); err != nil {
		t.Fatal(err)
	}
	// A write to the key is a new version; the locked one is intact.
	AssertContent(t, a, req.Key, info.VersionID, sha)
}

func testMissingObject(t *testing.T, a Store) {
	ctx := context.Background()
	if _, err := a.Head(ctx, "st01/none", ""); !errors.Is(err, archive.ErrObjectNotFound) {
		t.Errorf("head: %v, want ErrObjectNotFound", err)
	}
	if _, err := a.Get(ctx, "st01/none", ""); !errors.Is(err, archive.ErrObjectNotFound) {
		t.Errorf("get: %v, want ErrObjectNotFound", err)
	}
}

func AssertContent(t *testing.T, a archive.ObjectStore, key, version, sha string) {
	t.Helper()
	rc, err := a.Get(context.Background(), key, version)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _, err := digest.Sum(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got != sha {
		t.Fatalf("version %s of %s hashes to %s, want %s", version, key, got, sha)
	}
}

func AssertVersions(t *testing.T, a Store, key string, n int) {
	t.Helper()
	vs, err := a.Versions(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != n {
		t.Fatalf("%s has %d versions %v, want %d", key, len(vs), vs, n)
	}
}
