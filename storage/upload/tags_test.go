package upload

import (
	"maps"
	"testing"
	"time"

	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
)

// Case numbers and sessions reach the archived object with its upload,
// read back before it counts as archived; a case linked while it uploads
// is written right after.
func TestUploaderTagsCases(t *testing.T) {
	e := newUploaderEnv(t)
	small := e.addVerified(t, "held.MP4", []byte("held before upload"), time.Now())
	e.cat.Update(small.ID, func(r *catalog.Recording) error {
		r.Cases, r.Sessions = []string{"C-2026-0042"}, []uint64{7}
		return nil
	})
	data, _ := archivetest.Blob(61, 3*archivetest.PartSize+7)
	big := e.addVerified(t, "linked-during-upload.MP4", data, time.Now())
	e.store.OnPart(func(n int) {
		if n == 2 {
			e.cat.Update(big.ID, func(r *catalog.Recording) error { r.Cases = []string{"C-2026-0043"}; return nil })
		}
	})
	u := e.uploader(t, nil)
	runUntil(t, u, e.allArchived(t, small, big))
	for _, tc := range []struct {
		id   uint64
		want map[string]string
	}{
		{small.ID, map[string]string{archive.TagCases: "C-2026-0042", archive.TagSessions: "7"}},
		{big.ID, map[string]string{archive.TagCases: "C-2026-0043"}},
	} {
		r := e.state(t, tc.id)
		got, err := e.store.Tags(t.Context(), r.ArchiveKey, r.ArchiveVersion)
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("recording %d tags %v (%v), want %v", tc.id, got, err, tc.want)
		}
	}
}

// A hold placed while its recording uploads: the new version gets the
// legal hold at once, and the record never says held-in-archive falsely.
func TestUploaderHoldDuringUpload(t *testing.T) {
	e := newUploaderEnv(t)
	data, _ := archivetest.Blob(62, 3*archivetest.PartSize+7)
	r := e.addVerified(t, "held-during-upload.MP4", data, time.Now())
	e.store.OnPart(func(n int) {
		if n == 2 {
			e.cat.Update(r.ID, func(x *catalog.Recording) error {
				x.Holds = append(x.Holds, catalog.Hold{Reason: catalog.HoldEvidence, Case: "C-1", By: "wang.li", At: time.Now()})
				x.LegalHold = true // as retention's hold does before archiving
				return nil
			})
		}
	})
	u := e.uploader(t, nil)
	runUntil(t, u, func() bool {
		s := e.state(t, r.ID)
		return s.State == catalog.StateArchived && s.LegalHold
	})
	s := e.state(t, r.ID)
	if info, err := e.store.Head(t.Context(), s.ArchiveKey, s.ArchiveVersion); err != nil || !info.LegalHold {
		t.Fatalf("archived version %+v (%v): no legal hold", info, err)
	}
}

// Every upload has a deadline: its size at 1 MiB/s, or at half its share
// of the bandwidth limit when that is slower, plus two minutes.
func TestUploadDeadline(t *testing.T) {
	e := newUploaderEnv(t)
	for _, tc := range []struct {
		size, limit int64
		uploads     int
		want        time.Duration
	}{
		{0, 0, 2, 2 * time.Minute},
		{600 << 20, 0, 2, 12 * time.Minute},
		{600 << 20, 6 << 20, 3, 2*time.Minute + 600*time.Second},  // 1 MiB/s: the share's half
		{60 << 20, 1 << 20, 2, 2*time.Minute + 240*time.Second},   // 256 KiB/s
		{4 << 30, 100 << 20, 4, 2*time.Minute + 4096*time.Second}, // fast link: 1 MiB/s floor
	} {
		u := e.uploader(t, func(c *Config) { c.BandwidthLimit, c.MaxUploads = tc.limit, tc.uploads })
		if got := u.deadline(tc.size); got != tc.want {
			t.Errorf("size %d limit %d uploads %d: %v, want %v", tc.size, tc.limit, tc.uploads, got, tc.want)
		}
	}
}
