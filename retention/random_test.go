package retention

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// Holds, releases, restores and ingests of the same bytes race a sweeper
// that runs every second against a real MinIO, on recordings whose every
// retention stage comes due during the test. After each step and at the
// end: no footage the catalog keeps (held, or not expired) is gone from
// both the archive and staging, and nothing is left half done.
func TestRetentionRandomizedOnMinIO(t *testing.T) {
	a := archivetest.OnMinIO(t, miniotest.Start(t), nil)
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	e := newEnv(t, t.TempDir())
	p := Policy{Standard: Period{Months: 6}, Location: cst, LocalKeep: time.Second, Grace: 2 * time.Second}
	g := New(Config{Policy: p, Interval: time.Second}, e.cat, e.staging, a, quiet, nil)

	// Recordings whose six months end one to five seconds from now, each
	// archived under a lock that ends then too.
	var ids []uint64
	for i := range 8 {
		data := []byte(fmt.Sprintf("footage %d, recorded six months ago", i))
		at := time.Now().AddDate(0, -6, 0).Add(time.Duration(1+i%5) * time.Second)
		e.set(at)
		r := e.ingest(t, data, at, "100001")
		e.set(time.Now())
		info, err := a.Put(ctx, archive.PutRequest{Key: fmt.Sprintf("st01/random/%s.mp4", r.SHA256), SHA256: r.SHA256,
			Size: r.Size, Body: bytes.NewReader(data), RetainUntil: p.RetainUntil(&r)})
		if err != nil {
			t.Fatal(err)
		}
		e.cat.Update(r.ID, func(x *catalog.Recording) error {
			x.State, x.ArchiveKey, x.ArchiveVersion, x.ArchivedAt, x.RetainUntil = catalog.StateArchived, info.Key, info.VersionID, time.Now(), info.RetainUntil
			return nil
		})
		ids = append(ids, r.ID)
	}
	e.set(time.Now())
	g.cfg.Now = time.Now

	sweepCtx, stop := context.WithCancel(ctx)
	swept := make(chan error, 1)
	go func() { swept <- g.Run(sweepCtx) }()

	var wg sync.WaitGroup
	deadline := time.Now().Add(12 * time.Second)
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for time.Now().Before(deadline) {
				id := ids[rng.IntN(len(ids)-2)] // the last two are left alone: they must go
				op := randomOp(t, e, g, rng, id)
				if op.err != nil && !errors.Is(op.err, ErrBeingDeleted) && !errors.Is(op.err, ErrNoSuchHold) && !benign(op.err) {
					t.Errorf("%s %d: %v", op.name, id, op.err)
				}
				survivesOnMinIO(t, e, a, id)
				time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	stop()
	if err := <-swept; err != nil {
		t.Fatal(err)
	}
	if err := g.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	steps := map[string]float64{}
	for _, k := range []string{"evict", "mark-expired", "unmark", "delete", "hold", "release", "restore"} {
		steps[k] = testutil.ToFloat64(g.m.Actions.WithLabelValues(k))
	}
	t.Logf("retention steps taken: %v", steps)
	for _, k := range []string{"evict", "mark-expired", "delete", "legal-hold"} {
		if n := testutil.ToFloat64(g.m.Errors.WithLabelValues(k)); n > 0 {
			t.Logf("%s failed %v times (retried)", k, n)
		}
	}
	if steps["mark-expired"] == 0 || steps["evict"] == 0 || steps["delete"] == 0 {
		t.Errorf("the sweeper never marked, evicted or deleted: the race was not exercised")
	}
	for _, id := range ids[len(ids)-2:] {
		if r := e.get(t, id); r.State != catalog.StateExpired {
			t.Errorf("recording %d, left alone, is %s, want expired", id, r.State)
		}
	}
	all, err := e.cat.List(catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Intent != "" {
			t.Errorf("recording %d left with intent %s", r.ID, r.Intent)
		}
		survivesOnMinIO(t, e, a, r.ID)
	}
}

type op struct {
	name string
	err  error
}

func randomOp(t *testing.T, e *env, g *Manager, rng *rand.Rand, id uint64) op {
	ctx := context.Background()
	switch rng.IntN(4) {
	case 0:
		_, err := g.Hold(ctx, []uint64{id}, catalog.Filter{}, catalog.Hold{Reason: ReasonEvidence, By: "admin", Why: "random"})
		return op{"hold", err}
	case 1:
		_, err := release2(ctx, g, id, ReasonEvidence, "admin", "random")
		return op{"release", err}
	case 2:
		return op{"restore", restore2(ctx, g, id, "admin", "random")}
	default:
		r, err := e.cat.Get(id)
		if err != nil {
			return op{"ingest", err}
		}
		data := []byte(fmt.Sprintf("footage %d, recorded six months ago", rng.IntN(8)))
		_, err = e.staging.Put(ctx, bytes.NewReader(data), int64(len(data)), func(b staging.Blob) error {
			_, _, err := e.cat.Add(catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a",
				Device: "J0000009", Name: fmt.Sprintf("again-%d.mp4", rng.Uint32()), StartedAt: r.StartedAt, ReceivedAt: time.Now().UTC(),
				SHA256: b.SHA256, Size: b.Size, State: catalog.StateVerified})
			return err
		})
		return op{"ingest", err}
	}
}

// benign are refusals a racing operation expects: restoring what is not
// expiring, or was deleted.
func benign(err error) bool {
	var se *catalog.StateError
	return errors.As(err, &se) || err != nil && (bytes.Contains([]byte(err.Error()), []byte("not expiring")) ||
		bytes.Contains([]byte(err.Error()), []byte("was deleted by the retention rule")))
}

// survivesOnMinIO: a recording held, or not expired and not being deleted,
// has its bytes in the archive or in staging.
func survivesOnMinIO(t *testing.T, e *env, a *archive.Client, id uint64) {
	t.Helper()
	r, err := e.cat.Get(id)
	if err != nil {
		t.Error(err)
		return
	}
	if !r.Permanent() && (r.State == catalog.StateExpired || r.Intent == catalog.IntentDelete) {
		return
	}
	if r.ArchiveKey != "" {
		if _, err := a.Head(context.Background(), r.ArchiveKey, r.ArchiveVersion); err == nil {
			return
		}
	}
	if _, err := e.staging.Stat(r.SHA256); err == nil {
		return
	}
	t.Errorf("recording %d is %s (intent %q), held %v, and its bytes are nowhere", r.ID, r.State, r.Intent, r.Permanent())
}
