package upload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type uploaderEnv struct {
	cat     *catalog.Catalog
	staging *staging.Staging
	store   *archivetest.Fake
	reg     *prometheus.Registry
	m       *Metrics
}

func newUploaderEnv(t *testing.T) *uploaderEnv {
	t.Helper()
	dir := t.TempDir()
	cat := catalogtest.Open(t, catalog.Options{})
	st, err := staging.Open(filepath.Join(dir, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return &uploaderEnv{cat: cat, staging: st, store: archivetest.NewFake(archivetest.PartSize), reg: reg, m: NewMetrics(reg)}
}

// addVerified stages data and records it as verified at the given time.
func (e *uploaderEnv) addVerified(t *testing.T, name string, data []byte, verifiedAt time.Time) catalog.Recording {
	t.Helper()
	blob, err := e.staging.Put(context.Background(), bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 21, 8, 30, 15, 0, time.UTC)
	r, _, err := e.cat.Add(catalog.Recording{
		Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0123456", Officer: "012345",
		Name: name, Ext: "mp4", StartedAt: start, ReceivedAt: verifiedAt, Size: blob.Size, SHA256: blob.SHA256,
		State: catalog.StateVerified, StagedAt: verifiedAt, VerifiedAt: verifiedAt,
	}, catalog.Event{Type: catalog.EventIngested})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *uploaderEnv) uploader(t *testing.T, tweak func(*Config)) *Uploader {
	t.Helper()
	cfg := Config{
		Station: "st01", Version: "test", MaxUploads: 2,
		PollInterval: 10 * time.Millisecond, CheckInterval: time.Hour,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		RetainUntil: func(r catalog.Recording) time.Time { return r.StartedAt.AddDate(0, 6, 0) },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	u, err := New(cfg, e.cat, e.staging, e.store, slog.New(slog.NewTextHandler(io.Discard, nil)), e.m)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// runUntil runs u until cond holds (or fails the test after 20 s).
func runUntil(t *testing.T, u *Uploader, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = u.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *uploaderEnv) state(t *testing.T, id uint64) catalog.Recording {
	t.Helper()
	r, err := e.cat.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *uploaderEnv) allArchived(t *testing.T, recs ...catalog.Recording) func() bool {
	return func() bool {
		for _, r := range recs {
			if e.state(t, r.ID).State != catalog.StateArchived {
				return false
			}
		}
		return true
	}
}

func eventTypes(t *testing.T, c *catalog.Catalog, id uint64) []string {
	t.Helper()
	evs, err := c.RecentEvents(1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Recording == id {
			out = append(out, evs[i].Type)
		}
	}
	return out
}

func TestUploaderArchivesOldestFirst(t *testing.T) {
	e := newUploaderEnv(t)
	t0 := time.Now().Add(-time.Hour)
	newer := e.addVerified(t, "b.MP4", []byte("newer"), t0.Add(2*time.Minute))
	older := e.addVerified(t, "a.MP4", []byte("older"), t0)
	middle := e.addVerified(t, "c.MP4", []byte("middle"), t0.Add(time.Minute))
	u := e.uploader(t, func(c *Config) { c.MaxUploads = 1 })
	runUntil(t, u, e.allArchived(t, older, middle, newer))

	want := []string{ObjectKey(older), ObjectKey(middle), ObjectKey(newer)}
	if got := e.store.PutKeys(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("upload order %v, want %v", got, want)
	}
	r := e.state(t, older.ID)
	if r.ArchiveKey != ObjectKey(older) || r.ArchiveVersion == "" || r.ArchivedAt.IsZero() {
		t.Errorf("archived record %+v lacks key, version or time", r)
	}
	if want := older.StartedAt.AddDate(0, 6, 0); !r.RetainUntil.Equal(want) {
		t.Errorf("retain until %s, want %s", r.RetainUntil, want)
	}
	if got := eventTypes(t, e.cat, older.ID); strings.Join(got, ",") != "ingested,archived" {
		t.Errorf("events %v", got)
	}
	if n, err := e.cat.VerifyEvents(); err != nil || n == 0 {
		t.Errorf("custody trail: %d events, %v", n, err)
	}
	if got := testutil.ToFloat64(e.m.Bytes); got != float64(len("newer")+len("older")+len("middle")) {
		t.Errorf("bytes metric %v", got)
	}
	exposition := `
# HELP custodian_archive_upload_bytes_total Bytes of recordings archived and proven on arrival.
# TYPE custodian_archive_upload_bytes_total counter
custodian_archive_upload_bytes_total 16
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(exposition), "custodian_archive_upload_bytes_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(e.m.Duration); n != 1 {
		t.Errorf("duration histogram has %d series", n)
	}
}

// Two records with the same content and officer share one object key: they
// go up one after the other and share a single version.
func TestUploaderSameContentOneVersion(t *testing.T) {
	e := newUploaderEnv(t)
	a := e.addVerified(t, "a.MP4", []byte("same footage"), time.Now())
	b := e.addVerified(t, "copy-of-a.MP4", []byte("same footage"), time.Now())
	u := e.uploader(t, func(c *Config) { c.MaxUploads = 4 })
	runUntil(t, u, e.allArchived(t, a, b))
	ra, rb := e.state(t, a.ID), e.state(t, b.ID)
	if ra.ArchiveKey != rb.ArchiveKey || ra.ArchiveVersion != rb.ArchiveVersion {
		t.Errorf("records hold %s@%s and %s@%s, want one version", ra.ArchiveKey, ra.ArchiveVersion, rb.ArchiveKey, rb.ArchiveVersion)
	}
	archivetest.AssertVersions(t, e.store, ra.ArchiveKey, 1)
}

func TestUploaderStagedCopyAltered(t *testing.T) {
	e := newUploaderEnv(t)
	r := e.addVerified(t, "a.MP4", []byte("original footage"), time.Now())
	if err := os.WriteFile(e.staging.Path(r.SHA256), []byte("altered footage!"), 0o640); err != nil {
		t.Fatal(err)
	}
	u := e.uploader(t, nil)
	runUntil(t, u, func() bool { return e.state(t, r.ID).State == catalog.StateCorrupt })
	if len(e.store.PutKeys()) != 0 {
		t.Errorf("altered copy uploaded: %v", e.store.PutKeys())
	}
	if got := eventTypes(t, e.cat, r.ID); strings.Join(got, ",") != "ingested,corrupt" {
		t.Errorf("events %v", got)
	}
	if got := testutil.ToFloat64(e.m.Errors.WithLabelValues(errKindCorrupt)); got != 1 {
		t.Errorf("corrupt errors %v", got)
	}
}

// custodian is killed in the middle of a multipart upload; the next one
// continues the same upload id and sends only the missing parts.
func TestUploaderResumesMultipartAfterKill(t *testing.T) {
	e := newUploaderEnv(t)
	data, _ := archivetest.Blob(60, 3*archivetest.PartSize+7)
	r := e.addVerified(t, "big.MP4", data, time.Now())

	ctx, cancel := context.WithCancel(context.Background())
	e.store.OnPart(func(n int) {
		if n == 2 {
			cancel() // killed right after part 2 was saved
		}
	})
	u := e.uploader(t, nil)
	if err := u.Run(ctx); err != nil {
		t.Fatal(err)
	}
	saved, ok, err := savedUpload(e.cat, r.ID)
	if err != nil || !ok || len(saved.Parts) != 2 {
		t.Fatalf("saved upload %+v ok=%v err=%v, want 2 parts", saved, ok, err)
	}
	if s := e.state(t, r.ID); s.State != catalog.StateVerified {
		t.Fatalf("state %s after the kill", s.State)
	}

	var sent []int
	e.store.OnPart(func(n int) { sent = append(sent, n) })
	u2 := e.uploader(t, nil) // a new process on the same catalog
	runUntil(t, u2, e.allArchived(t, r))
	if len(e.store.Completed()) != 1 || e.store.Completed()[0] != saved.UploadID {
		t.Errorf("completed uploads %v, want only %s", e.store.Completed(), saved.UploadID)
	}
	if len(sent) != 2 || sent[0] != 3 || sent[1] != 4 {
		t.Errorf("after restart sent parts %v, want [3 4]", sent)
	}
	if _, ok, _ := savedUpload(e.cat, r.ID); ok {
		t.Error("upload state kept after the record was archived")
	}
	archivetest.AssertVersions(t, e.store, ObjectKey(r), 1)
}

// The archive is down for ten minutes: the whole queue pauses with capped,
// doubling backoff (a handful of attempts, not one per record per poll),
// then everything goes up once it is back. Fake time: testing/synctest.
func TestUploaderWaitsOutAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newUploaderEnv(t)
		var recs []catalog.Recording
		for i := range 5 {
			recs = append(recs, e.addVerified(t, "f.MP4", []byte{byte(i), 1, 2}, time.Now()))
		}
		e.store.SetDown(true)
		u := e.uploader(t, func(c *Config) {
			c.PollInterval = 5 * time.Second
			c.MinBackoff = 2 * time.Second
			c.MaxBackoff = time.Minute
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()

		time.Sleep(10 * time.Minute)
		synctest.Wait()
		calls := e.store.PutCalls()
		e.store.SetDown(false)
		// One probe after pauses of 1-2, 2-4, 4-8, 8-16, 16-32, then 30-60 s
		// (the first round may send MaxUploads): about 17 in ten minutes.
		if calls < 10 || calls > 25 {
			t.Errorf("%d put attempts in a 10-minute outage", calls)
		}
		if got := testutil.ToFloat64(e.m.Reachable); got != 0 {
			t.Errorf("reachable %v during the outage", got)
		}

		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if !e.allArchived(t, recs...)() {
			t.Fatal("not all archived two minutes after the outage")
		}
		if got := testutil.ToFloat64(e.m.Reachable); got != 1 {
			t.Errorf("reachable %v after the outage", got)
		}
		for _, r := range recs {
			if got := eventTypes(t, e.cat, r.ID); strings.Join(got, ",") != "ingested,archived" {
				t.Errorf("record %d events %v: transient failures are not custody events", r.ID, got)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestUploaderBandwidthLimit(t *testing.T) {
	e := newUploaderEnv(t)
	data, _ := archivetest.Blob(80, 3<<20)
	r := e.addVerified(t, "a.MP4", data, time.Now())
	u := e.uploader(t, func(c *Config) { c.BandwidthLimit = 2 << 20 })
	start := time.Now()
	runUntil(t, u, e.allArchived(t, r))
	// 3 MiB at 2 MiB/s with a 1 MiB burst: at least 1 s.
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("3 MiB went up in %s under a 2 MiB/s limit", d)
	}
}

func TestUploaderPermanentFailureIsRecordedOnce(t *testing.T) {
	e := newUploaderEnv(t)
	r := e.addVerified(t, "a.MP4", []byte("footage"), time.Now())
	denied := &archive.Error{Op: "upload", Key: "k", Kind: archive.KindAuth, Code: "AccessDenied", Err: errors.New("access denied")}
	e.store.Fail(denied, denied, denied)
	u := e.uploader(t, nil)
	runUntil(t, u, e.allArchived(t, r))
	if got := eventTypes(t, e.cat, r.ID); strings.Join(got, ",") != "ingested,upload-failed,archived" {
		t.Errorf("events %v", got)
	}
	if s := e.state(t, r.ID); s.UploadAttempts != 0 || s.LastUploadError != "" {
		t.Errorf("attempts %d, last error %q after success", s.UploadAttempts, s.LastUploadError)
	}
}

func TestUploaderDoesNotArchiveUnprovenObject(t *testing.T) {
	e := newUploaderEnv(t)
	r := e.addVerified(t, "a.MP4", []byte("footage"), time.Now())
	e.store.SetLying(true)
	u := e.uploader(t, nil)
	runUntil(t, u, func() bool { return testutil.ToFloat64(e.m.Errors.WithLabelValues(string(archive.KindIntegrity))) >= 1 })
	s := e.state(t, r.ID)
	if s.State != catalog.StateVerified || !strings.Contains(s.LastUploadError, "checksum") {
		t.Errorf("state %s, last error %q", s.State, s.LastUploadError)
	}
}

func TestObjectKey(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	start := time.Date(2026, 11, 21, 23, 30, 0, 0, time.FixedZone("CST", 8*3600)) // 15:30 UTC
	for _, tc := range []struct {
		name string
		r    catalog.Recording
		want string
	}{
		{"officer", catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Officer: "012345", StartedAt: start, SHA256: sha, Ext: "mp4"}, "st01/2026/11/21/012345/" + sha + ".mp4"},
		{"room", catalog.Recording{Station: "st01", Source: catalog.SourceRoom, SourceID: "room-2", StartedAt: start, SHA256: sha, Ext: "mkv"}, "st01/2026/11/21/room-2/" + sha + ".mkv"},
		{"no officer", catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", StartedAt: start.Add(time.Hour * 9), SHA256: sha}, "st01/2026/11/22/unknown/" + sha + ".bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ObjectKey(tc.r); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestObjectMetadataEncodesNames(t *testing.T) {
	r := catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Name: "讯问_0001.MP4", Size: 3,
		SHA256: strings.Repeat("0", 64), StartedAt: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}
	m := ObjectMetadata(r, "v1")
	if got := m[archive.MetaOriginalName]; got != "=?UTF-8?b?6K6v6ZeuXzAwMDEuTVA0?=" {
		t.Errorf("original name %q", got)
	}
	if m[archive.MetaStartedAt] != "2026-11-21T08:00:00Z" || m[archive.MetaSize] != "3" || m[archive.MetaVersion] != "v1" {
		t.Errorf("metadata %v", m)
	}
}

// After a long outage the pause has grown to MaxBackoff (10 minutes), yet
// the backlog goes up within seconds of the archive answering again: a
// paused uploader asks it cheaply every few seconds. Fake time.
func TestUploaderResumesSecondsAfterALongOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newUploaderEnv(t)
		var recs []catalog.Recording
		for i := range 5 {
			recs = append(recs, e.addVerified(t, "f.MP4", []byte{byte(i), 7, 7}, time.Now()))
		}
		e.store.SetDown(true)
		u := e.uploader(t, func(c *Config) {
			c.PollInterval = 5 * time.Second
			c.MinBackoff = 2 * time.Second
			c.MaxBackoff = 10 * time.Minute
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- u.Run(ctx) }()
		time.Sleep(40 * time.Minute)
		synctest.Wait()
		e.store.SetDown(false)
		back := time.Now()
		for !e.allArchived(t, recs...)() {
			if time.Since(back) > 2*time.Minute {
				t.Fatal("not all archived two minutes after the archive came back")
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if took := time.Since(back); took > 15*time.Second {
			t.Errorf("the backlog went up %v after the archive came back", took)
		}
		cancel()
		<-done
	})
}
