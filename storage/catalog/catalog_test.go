package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)

func openTestCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "custodian.db"), Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rec(device, officer, name, sha string, started time.Time) Recording {
	return Recording{Station: "st01", Source: SourceDock, SourceID: "dock-a", Device: device, Officer: officer,
		Name: name, SHA256: sha, Size: 10, StartedAt: started, ModTime: started.Add(time.Minute), State: StateVerified}
}

func sha(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestCatalogAddDeduplicates(t *testing.T) {
	c := openTestCatalog(t)
	r := rec("J0123456", "012345", "a.MP4", sha('a'), t0)
	first, created, err := c.Add(r, Event{Type: EventIngested})
	if err != nil || !created || first.ID != 1 {
		t.Fatalf("first add: %+v %v %v", first, created, err)
	}
	again, created, err := c.Add(r, Event{Type: EventIngested})
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("second add: id %d created %v err %v; want id %d, not created", again.ID, created, err, first.ID)
	}
	// Same name and device, other content: a different recording.
	other, created, err := c.Add(rec("J0123456", "012345", "a.MP4", sha('b'), t0), Event{Type: EventIngested})
	if err != nil || !created || other.ID != 2 {
		t.Fatalf("other content: %d %v %v", other.ID, created, err)
	}
	counts, _ := c.Counts()
	if counts[StateVerified] != 2 {
		t.Fatalf("counts = %v, want 2 verified", counts)
	}
	n, err := c.VerifyEvents()
	if err != nil || n != 2 {
		t.Fatalf("events: %d %v, want 2 (no event for the duplicate)", n, err)
	}
}

func TestCatalogStateMachine(t *testing.T) {
	c := openTestCatalog(t)
	r, _, _ := c.Add(rec("D1", "1", "a", sha('a'), t0))
	tests := []struct {
		to      State
		wantErr bool
	}{
		{StateStaged, true}, // no way back
		{StateArchived, false},
		{StateVerified, true},
		{StateCorrupt, false},
		{StateVerified, false}, // a fresh verified copy
	}
	for _, tc := range tests {
		_, err := c.Update(r.ID, func(x *Recording) error { x.State = tc.to; return nil })
		var se *StateError
		if got := errors.As(err, &se); got != tc.wantErr {
			t.Fatalf("move to %s: err %v, want error %v", tc.to, err, tc.wantErr)
		}
	}
	got, _ := c.Get(r.ID)
	if got.State != StateVerified {
		t.Fatalf("state %s", got.State)
	}
	counts, _ := c.Counts()
	if counts[StateVerified] != 1 || counts[StateArchived] != 0 || counts[StateCorrupt] != 0 {
		t.Fatalf("counts = %v", counts)
	}
	if _, err := c.Get(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}

func TestCatalogList(t *testing.T) {
	c := openTestCatalog(t)
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	for _, r := range []Recording{
		rec("D1", "111", "a", sha('a'), day(0)),
		rec("D1", "111", "b", sha('b'), day(1)),
		rec("D2", "222", "c", sha('c'), day(1)),
		rec("D2", "", "d", sha('d'), day(2)),
		rec("D10", "1111", "e", sha('e'), day(0)), // shares a prefix with D1 and 111
	} {
		if _, _, err := c.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	c.Update(3, func(r *Recording) error { r.State = StateArchived; return nil })
	tests := []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"all", Filter{}, []uint64{1, 2, 3, 4, 5}},
		{"officer", Filter{Officer: "111"}, []uint64{1, 2}},
		{"officer day", Filter{Officer: "111", From: day(1), To: day(2)}, []uint64{2}},
		{"device", Filter{Device: "D2"}, []uint64{3, 4}},
		{"device prefix is not a match", Filter{Device: "D1"}, []uint64{1, 2}},
		{"state", Filter{State: StateArchived}, []uint64{3}},
		{"time", Filter{From: day(1), To: day(2)}, []uint64{2, 3}},
		{"device and state", Filter{Device: "D2", State: StateVerified}, []uint64{4}},
		{"limit", Filter{Limit: 2}, []uint64{1, 2}},
		{"none", Filter{Officer: "999"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if ids := listIDs(t, c, tc.f); !equalIDs(ids, tc.want) {
				t.Fatalf("ids %v, want %v", ids, tc.want)
			}
		})
	}
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCatalogQuickAndContentIndex(t *testing.T) {
	c := openTestCatalog(t)
	r := rec("D1", "1", "bad\xffname.mp4", sha('a'), t0)
	r.NameRaw = []byte(r.Name)
	r.Name = "bad\\xffname.mp4"
	if _, _, err := c.Add(r); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.FindQuick("D1", "bad\xffname.mp4", 10, r.ModTime); !ok {
		t.Fatal("quick index misses the raw name")
	}
	if _, ok, _ := c.FindQuick("D1", "bad\xffname.mp4", 11, r.ModTime); ok {
		t.Fatal("quick index matched another size")
	}
	if _, ok, _ := c.FindContent("D1", "bad\xffname.mp4", sha('a')); !ok {
		t.Fatal("content index misses")
	}
	got, _ := c.BySHA(sha('a'))
	if len(got) != 1 {
		t.Fatalf("by sha: %d", len(got))
	}
}

func TestEventChainDetectsTampering(t *testing.T) {
	tamper := []struct {
		name    string
		edit    func(b *bolt.Bucket)
		wantSeq uint64
	}{
		{"altered", func(b *bolt.Bucket) {
			var e Event
			json.Unmarshal(b.Get(u64(2)), &e)
			e.Detail = "something else"
			v, _ := json.Marshal(e)
			b.Put(u64(2), v)
		}, 2},
		{"deleted", func(b *bolt.Bucket) { b.Delete(u64(2)) }, 2},
		{"reordered", func(b *bolt.Bucket) {
			v2, v3 := append([]byte(nil), b.Get(u64(2))...), append([]byte(nil), b.Get(u64(3))...)
			b.Put(u64(2), v3)
			b.Put(u64(3), v2)
		}, 2},
		{"last dropped", func(b *bolt.Bucket) { b.Delete(u64(4)) }, 4},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			c := openTestCatalog(t)
			for i := range 4 {
				if err := c.Append(Event{Type: "test", Detail: string(rune('a' + i))}); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := c.VerifyEvents(); err != nil || n != 4 {
				t.Fatalf("clean chain: %d %v", n, err)
			}
			c.db.Update(func(tx *bolt.Tx) error { tc.edit(tx.Bucket(bucketEvents)); return nil })
			_, err := c.VerifyEvents()
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Seq != tc.wantSeq {
				t.Fatalf("err %v, want chain error at %d", err, tc.wantSeq)
			}
		})
	}
}

func TestCatalogReadOnlyAndLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custodian.db")
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(rec("D1", "1", "a", sha('a'), t0))
	if _, err := Open(path, Options{ReadOnly: true, Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("open while held: %v, want ErrLocked", err)
	}
	c.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err := ro.List(Filter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("read-only list: %d %v", len(got), err)
	}
}

func TestCatalogCountsHeld(t *testing.T) {
	c := openTestCatalog(t)
	held := rec("D1", "1", "a", sha('a'), t0)
	held.Holds = []Hold{{Reason: HoldImportantFlag, By: ActorCustodian}}
	c.Add(held)
	r, _, _ := c.Add(rec("D1", "1", "b", sha('b'), t0))
	c.Update(r.ID, func(x *Recording) error { x.Holds = append(x.Holds, Hold{Reason: "evidence"}); return nil })
	if n, _ := c.Held(); n != 2 {
		t.Fatalf("held %d, want 2", n)
	}
	c.Update(r.ID, func(x *Recording) error { x.Holds = nil; return nil })
	if n, _ := c.Held(); n != 1 {
		t.Fatalf("held %d after a release, want 1", n)
	}
	if counts, _ := c.Counts(); len(counts) != 1 || counts[StateVerified] != 2 {
		t.Fatalf("counts %v", counts)
	}
}

func TestSettingKeepsSinceWhen(t *testing.T) {
	c := openTestCatalog(t)
	if changed, err := c.NoteSetting("retention", "standard=6mo"); err != nil || !changed {
		t.Fatalf("first note: %v %v", changed, err)
	}
	if changed, _ := c.NoteSetting("retention", "standard=6mo"); changed {
		t.Fatal("the same value noted as a change")
	}
	v, since, err := c.Setting("retention")
	if err != nil || v != "standard=6mo" || !since.Equal(t0) {
		t.Fatalf("setting %q since %s, err %v", v, since, err)
	}
}

func TestCatalogAddBatch(t *testing.T) {
	c := openTestCatalog(t)
	c.Add(rec("D1", "1", "a", sha('a'), t0), Event{Type: EventIngested})
	batch := []Recording{rec("D1", "1", "a", sha('a'), t0), rec("D1", "1", "b", sha('b'), t0), rec("D2", "2", "c", sha('c'), t0)}
	if n, err := c.AddBatch(batch, Event{Type: EventIngested}); err != nil || n != 2 {
		t.Fatalf("added %d, %v; want 2 (one was there)", n, err)
	}
	bad := rec("D3", "3", "d", sha('d'), t0)
	bad.State = "lost"
	if _, err := c.AddBatch([]Recording{rec("D3", "3", "e", sha('e'), t0), bad}); err == nil {
		t.Fatal("a batch with an invalid state was accepted")
	}
	if got, _ := c.List(Filter{}); len(got) != 3 {
		t.Fatalf("%d recordings, want 3: a failed batch writes nothing", len(got))
	}
	if n, err := c.VerifyEvents(); err != nil || n != 3 {
		t.Fatalf("events %d %v, want one per new recording", n, err)
	}
	checkIndexes(t, c, time.Time{})
}

// A long read (audit verify, a plan a month ahead) must not stall ingest:
// a write that grows the catalog file past the map bbolt reads it through
// would wait for every read transaction to end, and every new read behind
// it. The map is reserved large enough that growing the file never remaps.
func TestLongReadDoesNotStallWrites(t *testing.T) {
	c := openTestCatalog(t)
	tx, err := c.db.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	done := make(chan error, 1)
	go func() {
		for i := range 40 {
			batch := make([]Recording, 500)
			for j := range batch {
				n := i*len(batch) + j
				batch[j] = rec("J0123456", "012345", fmt.Sprintf("f%06d.MP4", n), fmt.Sprintf("%064x", n+1), t0.Add(time.Duration(n)*time.Second))
			}
			if _, err := c.AddBatch(batch, Event{Type: EventIngested}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("adds waited on an open read transaction: the growing file remapped the catalog")
	}
	if fi, err := os.Stat(c.db.Path()); err != nil || fi.Size() < 8<<20 {
		t.Fatalf("catalog grew to %d bytes (%v); the test wants it past bbolt's first maps", fi.Size(), err)
	}
}
