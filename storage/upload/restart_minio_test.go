package upload

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// custodian restarts every 5 s (a crash loop, a watchdog, a flaky power
// supply) while uploads are capped at 6 MB/s: every restart must keep what
// the last one sent, so the backlog shrinks at every restart and empties.
// Issue #14: parts in flight were lost at each restart and 86 restarts in a
// row resumed at "parts_done=1". Real MinIO, production part size and
// uploads in flight; about three minutes, so -short skips it.
func TestUploaderRestartsUnderBandwidthLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts 20 x 30 MiB of uploads every 5 s under a 6 MB/s limit: minutes")
	}
	const (
		files       = 20
		size        = 30 << 20
		limit       = 6_000_000 // bandwidth_limit: 6MB
		every       = 5 * time.Second
		giveUpAfter = 6 // restarts in a row without progress
		maxRestarts = 80
	)
	srv := miniotest.Start(t)
	a, err := archive.New(archive.Config{Endpoint: srv.Endpoint, Bucket: "evidence-restarts",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "custodian.db")
	st, err := staging.Open(filepath.Join(dir, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	recs := stageRecordings(t, dbPath, st, files, size)

	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	last, stuck, noProgress := progressOf(t, dbPath, recs), 0, 0
	start := time.Now()
	restarts := 0
	for ; last.archived < files; restarts++ {
		if restarts == maxRestarts || stuck == giveUpAfter {
			t.Fatalf("after %d restarts (%d without progress, %d in a row): %d of %d archived",
				restarts, noProgress, stuck, last.archived, files)
		}
		logs := runFor(t, dbPath, st, a, m, limit, every)
		now := progressOf(t, dbPath, recs)
		t.Logf("restart %d: %d archived, %d parts recorded in flight", restarts+1, now.archived, now.parts)
		for id, n := range last.byID {
			if m, ok := now.byID[id]; ok && m <= n {
				t.Errorf("restart %d: recording %d in flight stayed at %d parts, had %d", restarts+1, id, m, n)
			}
		}
		if now.score() <= last.score() {
			noProgress++
			stuck++
			t.Errorf("restart %d made no progress: %d archived and %d parts, before %d and %d; its log:\n%s",
				restarts+1, now.archived, now.parts, last.archived, last.parts, logs)
		} else {
			stuck = 0
		}
		last = now
	}
	t.Logf("%d files archived in %d restarts, %s; %d restarts without progress",
		files, restarts, time.Since(start).Round(time.Second), noProgress)

	cat, err := catalog.Open(dbPath, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	for _, r := range recs {
		rec, err := cat.Get(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := a.Versions(context.Background(), rec.ArchiveKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0] != rec.ArchiveVersion {
			t.Errorf("%s: versions %v, want only the recorded %s", rec.ArchiveKey, vs, rec.ArchiveVersion)
		}
		archivetest.AssertContent(t, a, rec.ArchiveKey, rec.ArchiveVersion, r.SHA256)
	}
}

// stageRecordings stages n recordings of size random bytes, verified and
// due for upload, in the catalog at dbPath.
func stageRecordings(t *testing.T, dbPath string, st *staging.Staging, n, size int) []catalog.Recording {
	t.Helper()
	cat, err := catalog.Open(dbPath, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	e := &uploaderEnv{cat: cat, staging: st}
	data := make([]byte, size)
	var recs []catalog.Recording
	for i := range n {
		rng := rand.NewChaCha8([32]byte{byte(i), 14})
		_, _ = rng.Read(data)
		recs = append(recs, e.addVerified(t, fmt.Sprintf("f%02d.MP4", i), bytes.Clone(data), time.Now()))
	}
	return recs
}

// runFor is one life of custodian's uploader: open the catalog, upload for
// d, then die (the context ends) and close the catalog. It returns the log.
func runFor(t *testing.T, dbPath string, st *staging.Staging, a archive.ObjectStore, m *Metrics, limit int64, d time.Duration) string {
	t.Helper()
	cat, err := catalog.Open(dbPath, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	var logs syncBuffer
	u, err := New(Config{Station: "st01", Version: "test", BandwidthLimit: limit,
		RetainUntil: func(r catalog.Recording) time.Time { return r.StartedAt.AddDate(0, 6, 0) },
	}, cat, st, a, slog.New(slog.NewTextHandler(&logs, nil)), m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := u.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return logs.String()
}

// syncBuffer is a log shared by the uploads of one life.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// progress is what the catalog holds between two lives: the recordings
// archived, and the parts recorded for the uploads in flight (byID: of
// each record not archived).
type progress struct {
	archived, parts int
	byID            map[uint64]int
}

// score grows with any progress: one more archive counts more than the
// parts it had recorded.
func (p progress) score() int { return p.archived*100_000 + p.parts }

func progressOf(t *testing.T, dbPath string, recs []catalog.Recording) progress {
	t.Helper()
	cat, err := catalog.Open(dbPath, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	p := progress{byID: map[uint64]int{}}
	for _, r := range recs {
		rec, err := cat.Get(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.State == catalog.StateArchived {
			p.archived++
			continue
		}
		saved, ok, err := savedUpload(cat, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok && len(saved.Parts) > 0 {
			p.parts += len(saved.Parts)
			p.byID[r.ID] = len(saved.Parts)
		}
	}
	return p
}
