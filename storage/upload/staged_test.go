package upload

import (
	"os"
	"strings"
	"testing"
	"time"

	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
)

// A staged copy too large to verify in memory is verified as its parts are
// read and sent; one byte changed on disk, or the copy cut short, and the
// upload is never completed: the record is corrupt, its multipart upload
// forgotten, nothing archived.
func TestUploaderLargeAlteredCopyNeverCompletes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alter func([]byte) []byte
	}{
		{"one byte", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }},
		{"cut short", func(b []byte) []byte { return b[:len(b)-archivetest.PartSize] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUploaderEnv(t)
			data, _ := archivetest.Blob(90, inMemoryMax+archivetest.PartSize+1)
			r := e.addVerified(t, "big.MP4", data, time.Now())
			if err := os.WriteFile(e.staging.Path(r.SHA256), tc.alter(data), 0o640); err != nil {
				t.Fatal(err)
			}
			runUntil(t, e.uploader(t, nil), func() bool { return e.state(t, r.ID).State == catalog.StateCorrupt })
			if got := e.store.Completed(); len(got) != 0 {
				t.Errorf("completed %v", got)
			}
			if got := eventTypes(t, e.cat, r.ID); strings.Join(got, ",") != "ingested,corrupt" {
				t.Errorf("events %v", got)
			}
			if _, ok, _ := savedUpload(e.cat, r.ID); ok {
				t.Error("multipart upload of a corrupt copy kept for resuming")
			}
			archivetest.AssertVersions(t, e.store, ObjectKey(r), 0)
		})
	}
}

// A copy within inMemoryMax is read from disk once: what is sent is what
// was hashed. One changed byte and nothing is sent at all.
func TestUploaderSmallCopyVerifiedInMemory(t *testing.T) {
	e := newUploaderEnv(t)
	data, _ := archivetest.Blob(91, 2*archivetest.PartSize+3)
	good := e.addVerified(t, "a.MP4", data, time.Now())
	bad := e.addVerified(t, "b.MP4", append([]byte{1}, data...), time.Now())
	if err := os.WriteFile(e.staging.Path(bad.SHA256), append([]byte{2}, data...), 0o640); err != nil {
		t.Fatal(err)
	}
	runUntil(t, e.uploader(t, nil), func() bool {
		return e.state(t, good.ID).State == catalog.StateArchived && e.state(t, bad.ID).State == catalog.StateCorrupt
	})
	for _, k := range e.store.PutKeys() {
		if k == ObjectKey(bad) {
			t.Errorf("altered copy sent: %s", k)
		}
	}
	rec := e.state(t, good.ID)
	archivetest.AssertContent(t, e.store, rec.ArchiveKey, rec.ArchiveVersion, good.SHA256)
}
