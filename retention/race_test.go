package retention

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// afterRemove is the archive with something landing right after the final
// deletion of a version: the moment between the sweeper's S3 call and its
// catalog update.
type afterRemove struct {
	*archivetest.Fake
	then func()
}

func (a *afterRemove) Remove(ctx context.Context, key, version string) error {
	err := a.Fake.Remove(ctx, key, version)
	if a.then != nil {
		then := a.then
		a.then = nil
		then()
	}
	return err
}

// expiringOnFake archives r's bytes in fake under a lock that has passed and
// marks it expiring (stage one of expiry) long enough ago that the grace
// period is over: the next sweep deletes it.
func (e *env) expiringOnFake(t *testing.T, fake *archivetest.Fake, r catalog.Recording) catalog.Recording {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile(e.staging.Path(r.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	key := "st01/" + r.SHA256 + ".mp4"
	req := archivetest.Request(key, data, r.SHA256)
	req.RetainUntil = time.Now().Add(-time.Hour).Truncate(time.Second) // the lock has ended
	info, err := fake.Put(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	marker, err := fake.MarkDeleted(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	now := e.Now()
	got, err := e.cat.Update(r.ID, func(x *catalog.Recording) error {
		x.State, x.ArchiveKey, x.ArchiveVersion, x.ArchivedAt = catalog.StateExpiring, key, info.VersionID, now.Add(-300*24*time.Hour)
		x.ExpiringAt, x.DeleteMarker = now.Add(-30*24*time.Hour), marker
		x.ReceivedAt = now.Add(-399 * 24 * time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// footageSurvives is the invariant no race may break: a recording the
// catalog holds permanently, or does not call expired, has its bytes
// somewhere, in the archive or in staging.
func footageSurvives(t *testing.T, e *env, fake *archivetest.Fake, id uint64) {
	t.Helper()
	r := e.get(t, id)
	if r.State == catalog.StateExpired && !r.Permanent() {
		return
	}
	if r.ArchiveKey != "" {
		if _, err := fake.Head(context.Background(), r.ArchiveKey, r.ArchiveVersion); err == nil {
			return
		}
	}
	if _, err := e.staging.Stat(r.SHA256); err == nil {
		return
	}
	t.Fatalf("recording %d is %s, held %v (legal hold %v), and its bytes are nowhere", r.ID, r.State, r.Permanent(), r.LegalHold)
}

// A hold that lands between the sweeper's final deletion in the archive and
// its catalog update must not leave a held recording with no bytes: it is
// either refused (the deletion was decided first) or it saves the footage.
func TestHoldDuringFinalDelete(t *testing.T) {
	e := newEnv(t, t.TempDir())
	fake := archivetest.NewFake(archivetest.PartSize)
	arch := &afterRemove{Fake: fake}
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: e.Now}, e.cat, e.staging, arch, quiet, nil)
	r := e.ingest(t, []byte("footage of an obstruction, recorded long ago"), e.Now().Add(-400*24*time.Hour), "100001")
	r = e.expiringOnFake(t, fake, r)

	var holdErr error
	arch.then = func() {
		_, holdErr = g.Hold(context.Background(), []uint64{r.ID}, catalog.Filter{},
			catalog.Hold{Reason: ReasonObstruction, By: "admin", Why: "the video shows the obstruction"})
	}
	g.Sweep(context.Background())
	footageSurvives(t, e, fake, r.ID)
	if got := e.get(t, r.ID); got.Permanent() && holdErr == nil && got.State == catalog.StateExpired {
		t.Fatalf("the hold was taken on a recording that was deleted: %+v", got)
	}
	if !errors.Is(holdErr, ErrBeingDeleted) {
		t.Fatalf("hold during the deletion: %v, want ErrBeingDeleted", holdErr)
	}
	if got := e.get(t, r.ID); got.State != catalog.StateExpired || got.Permanent() || got.Intent != "" {
		t.Fatalf("after the sweep: %+v", got)
	}
}

var _ archive.ObjectStore = (*archivetest.Fake)(nil)

// archivedOnFake archives r in fake under a lock that has passed, archived
// long ago, with a receipt and start so old that every stage is due.
func (e *env) archivedOnFake(t *testing.T, fake *archivetest.Fake, r catalog.Recording) catalog.Recording {
	t.Helper()
	data, err := os.ReadFile(e.staging.Path(r.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	key := "st01/" + r.SHA256 + ".mp4"
	req := archivetest.Request(key, data, r.SHA256)
	req.RetainUntil = time.Now().Add(-time.Hour).Truncate(time.Second)
	info, err := fake.Put(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	now := e.Now()
	got, err := e.cat.Update(r.ID, func(x *catalog.Recording) error {
		x.State, x.ArchiveKey, x.ArchiveVersion, x.ArchivedAt = catalog.StateArchived, key, info.VersionID, now.Add(-300*24*time.Hour)
		x.ReceivedAt = now.Add(-399 * 24 * time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// consistent checks every record: footage the catalog keeps is somewhere,
// a claimed local copy is in staging, an expired recording has left the
// archive, and no step is left half done.
func consistent(t *testing.T, e *env, fake *archivetest.Fake) {
	t.Helper()
	all, err := e.cat.List(catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		footageSurvives(t, e, fake, r.ID)
		if r.HasLocalCopy() {
			if err := e.staging.Verify(r.SHA256, r.Size); err != nil {
				t.Errorf("recording %d claims a local copy: %v", r.ID, err)
			}
		}
		if r.State == catalog.StateExpired && r.ArchiveKey != "" {
			if _, err := fake.Head(context.Background(), r.ArchiveKey, r.ArchiveVersion); err == nil {
				t.Errorf("recording %d is expired but the archive still has it", r.ID)
			}
		}
		if r.Intent != "" {
			t.Errorf("recording %d left with intent %s", r.ID, r.Intent)
		}
		if r.State == catalog.StateArchived || r.State == catalog.StateVerified {
			if m, _ := fake.Markers(context.Background(), r.ArchiveKey); r.ArchiveKey != "" && len(m) > 0 {
				t.Errorf("recording %d is %s but its key is hidden by delete markers %v", r.ID, r.State, m)
			}
		}
	}
}

// Between every check and act of eviction, stage one and stage two of
// expiry, a hold, a restore or a new ingest of the same bytes lands. None
// may leave footage gone that the catalog says exists, or a held record
// with no bytes anywhere.
func TestRetentionStepsUnderInterference(t *testing.T) {
	data := []byte("a recording that the sweeper is about to let go")
	stages := []struct {
		name  string
		setup func(t *testing.T, e *env, fake *archivetest.Fake) catalog.Recording
		hooks []string
	}{
		{"evict", func(t *testing.T, e *env, fake *archivetest.Fake) catalog.Recording {
			r := e.archivedOnFake(t, fake, e.ingest(t, data, e.Now().Add(-400*24*time.Hour), "100001"))
			// Inside retention: only the eviction is due.
			r, _ = e.cat.Update(r.ID, func(x *catalog.Recording) error { x.ReceivedAt = e.Now(); return nil })
			return r
		}, []string{"evict"}},
		{"mark", func(t *testing.T, e *env, fake *archivetest.Fake) catalog.Recording {
			r := e.archivedOnFake(t, fake, e.ingest(t, data, e.Now().Add(-400*24*time.Hour), "100001"))
			r, _ = e.cat.Update(r.ID, func(x *catalog.Recording) error { x.EvictedAt = e.Now(); return nil }) // only the mark is due
			return r
		}, []string{"mark:decided", "mark:acted"}},
		{"delete", func(t *testing.T, e *env, fake *archivetest.Fake) catalog.Recording {
			return e.expiringOnFake(t, fake, e.ingest(t, data, e.Now().Add(-400*24*time.Hour), "100001"))
		}, []string{"delete:decided", "delete:archive", "delete:local"}},
	}
	ctx := context.Background()
	inject := map[string]func(t *testing.T, e *env, g *Manager, r catalog.Recording) error{
		"hold": func(t *testing.T, e *env, g *Manager, r catalog.Recording) error {
			_, err := g.Hold(ctx, []uint64{r.ID}, catalog.Filter{}, catalog.Hold{Reason: ReasonEvidence, By: "admin", Why: "case 42", Case: "C42"})
			return err
		},
		"restore": func(t *testing.T, e *env, g *Manager, r catalog.Recording) error {
			return restore2(ctx, g, r.ID, "admin", "needed after all")
		},
		"ingest": func(t *testing.T, e *env, g *Manager, r catalog.Recording) error {
			// The same bytes from another camera: a second record of one blob.
			_, err := e.staging.Put(ctx, bytes.NewReader(data), int64(len(data)), func(b staging.Blob) error {
				_, created, err := e.cat.Add(catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a",
					Device: "J0000002", Officer: "100002", Name: "copy.mp4", Ext: "mp4", StartedAt: e.Now().Add(-time.Hour).UTC(),
					ReceivedAt: e.Now().UTC(), SHA256: b.SHA256, Size: b.Size, State: catalog.StateVerified})
				if err == nil && !created {
					err = errors.New("not a new record")
				}
				return err
			})
			return err
		},
	}
	for _, st := range stages {
		for _, hook := range st.hooks {
			for name, do := range inject {
				t.Run(hook+"/"+name, func(t *testing.T) {
					e := newEnv(t, t.TempDir())
					fake := archivetest.NewFake(archivetest.PartSize)
					g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: e.Now}, e.cat, e.staging, fake, quiet, nil)
					r := st.setup(t, e, fake)
					var injected error
					fired := false
					g.between = func(step string, id uint64) {
						if step == hook && !fired {
							fired = true
							injected = do(t, e, g, r)
						}
					}
					g.Sweep(ctx)
					if !fired {
						t.Fatalf("step %s never reached", hook)
					}
					g.between = nil
					g.Sweep(ctx) // whatever the first sweep left to do
					consistent(t, e, fake)
					got := e.get(t, r.ID)
					if name == "hold" {
						switch {
						case errors.Is(injected, ErrBeingDeleted):
							if got.State != catalog.StateExpired {
								t.Fatalf("hold refused but the recording is %s", got.State)
							}
						case injected != nil:
							t.Fatalf("hold: %v", injected)
						case !got.Permanent() || got.State == catalog.StateExpired || got.State == catalog.StateExpiring:
							t.Fatalf("hold accepted, recording %+v", got)
						}
					}
					if name == "restore" && injected != nil && !errors.Is(injected, ErrBeingDeleted) && got.State == catalog.StateExpired {
						t.Logf("restore refused: %v", injected)
					}
				})
			}
		}
	}
}

// A crash after a step was decided leaves its intent in the catalog; the
// next start finishes it: a deletion removes what is left, a mark adopts
// the marker the archive already has instead of placing a second one.
func TestResumeInterruptedSteps(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	fake := archivetest.NewFake(archivetest.PartSize)
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: e.Now}, e.cat, e.staging, fake, quiet, nil)

	del := e.expiringOnFake(t, fake, e.ingest(t, []byte("deleted when the power went"), e.Now().Add(-400*24*time.Hour), "1"))
	if err := fake.Remove(ctx, del.ArchiveKey, del.ArchiveVersion); err != nil { // done before the crash
		t.Fatal(err)
	}
	e.cat.Update(del.ID, func(x *catalog.Recording) error { x.Intent, x.IntentAt = catalog.IntentDelete, e.Now(); return nil })

	mark := e.archivedOnFake(t, fake, e.ingest(t, []byte("marked when the power went"), e.Now().Add(-400*24*time.Hour), "1"))
	marker, _ := fake.MarkDeleted(ctx, mark.ArchiveKey) // placed, never recorded
	e.cat.Update(mark.ID, func(x *catalog.Recording) error { x.Intent, x.IntentAt = catalog.IntentMark, e.Now(); return nil })

	if err := g.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, del.ID); got.State != catalog.StateExpired || got.Intent != "" || got.HasLocalCopy() {
		t.Fatalf("interrupted deletion: %+v", got)
	}
	if _, err := e.staging.Stat(del.SHA256); err == nil {
		t.Fatal("the deleted recording's local copy is still there")
	}
	got := e.get(t, mark.ID)
	if got.State != catalog.StateExpiring || got.DeleteMarker != marker || got.Intent != "" {
		t.Fatalf("interrupted mark: %+v, want marker %s", got, marker)
	}
	if m, _ := fake.Markers(ctx, mark.ArchiveKey); len(m) != 1 {
		t.Fatalf("markers %v, want the one the crash left", m)
	}
	if err := restore2(ctx, g, mark.ID, "admin", "still needed"); err != nil {
		t.Fatal(err)
	}
	consistent(t, e, fake)
}

// An interrupted deletion that cannot be finished (the archive is down)
// delays only itself: the same sweep still evicts what is due, and the
// deletion completes once the archive answers.
func TestResumeFailureDelaysOnlyItself(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	fake := archivetest.NewFake(archivetest.PartSize)
	g := New(Config{Policy: Policy{Standard: Period{Months: 6}}, Now: e.Now}, e.cat, e.staging, fake, quiet, nil)
	del := e.expiringOnFake(t, fake, e.ingest(t, []byte("its deletion was cut short"), e.Now().Add(-400*24*time.Hour), "1"))
	e.cat.Update(del.ID, func(x *catalog.Recording) error { x.Intent, x.IntentAt = catalog.IntentDelete, e.Now(); return nil })
	ev := e.archivedOnFake(t, fake, e.ingest(t, []byte("archived a while ago, copy due to go"), e.Now().Add(-10*24*time.Hour), "1"))
	e.cat.Update(ev.ID, func(x *catalog.Recording) error { x.ReceivedAt = e.Now(); return nil }) // within retention

	fake.SetDown(true)
	if _, err := g.Sweep(ctx); err == nil {
		t.Fatal("a resume against an unreachable archive reported no error")
	}
	if got := e.get(t, ev.ID); got.EvictedAt.IsZero() {
		t.Fatal("the eviction waited for the interrupted deletion")
	}
	if got := e.get(t, del.ID); got.Intent != catalog.IntentDelete {
		t.Fatalf("the interrupted deletion was dropped: %+v", got)
	}
	fake.SetDown(false)
	if _, err := g.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, del.ID); got.State != catalog.StateExpired || got.Intent != "" {
		t.Fatalf("after the archive came back: %+v", got)
	}
	consistent(t, e, fake)
}
