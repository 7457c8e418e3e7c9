package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// checkIndexes compares every index bucket whose keys belong to one record
// each with what the records say, entry for entry, and meta "newest" with
// want (when not zero).
func checkIndexes(t *testing.T, c *Catalog, want time.Time) {
	t.Helper()
	err := c.db.View(func(tx *bolt.Tx) error {
		expect := map[string]map[string]string{}
		err := tx.Bucket(bucketRecordings).ForEach(func(k, v []byte) error {
			r, err := getRecording(tx, keyID(k))
			if err != nil {
				return err
			}
			for _, e := range indexes(&r) {
				if e.unique {
					continue
				}
				if expect[string(e.bucket)] == nil {
					expect[string(e.bucket)] = map[string]string{}
				}
				expect[string(e.bucket)][string(e.key)] = string(e.value)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketIdxState, bucketIdxTime, bucketIdxOfficer, bucketIdxDevice, bucketIdxSHA,
			bucketIdxPending, bucketIdxRoom, bucketIdxRetain, bucketIdxEvict, bucketIdxGrace, bucketIdxUnmark,
			bucketIdxLegal, bucketIdxLocal} {
			got := map[string]string{}
			tx.Bucket(name).ForEach(func(k, v []byte) error { got[string(k)] = string(v); return nil })
			w := expect[string(name)]
			if len(got) != len(w) {
				t.Errorf("%s: %d entries, want %d", name, len(got), len(w))
			}
			for k, v := range w {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s: entry %x is %x (present %v), want %x", name, k, g, ok, v)
				}
			}
		}
		if n := newest(tx); !want.IsZero() && !n.Equal(want) {
			t.Errorf("newest %v, want %v", n, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ids of what an index bucket holds, in key order.
func indexIDs(t *testing.T, c *Catalog, bucket []byte) []uint64 {
	t.Helper()
	var ids []uint64
	c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error { ids = append(ids, keyID(k)); return nil })
	})
	return ids
}

// A random walk through the state machine, with holds, evictions, legal
// holds and releases: after every change the indexes say exactly what the
// records say.
func TestIndexesFollowEveryChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := openTestCatalog(t)
	var newestSeen time.Time
	seen := func(ts ...time.Time) {
		for _, x := range ts {
			if x.After(newestSeen) {
				newestSeen = x
			}
		}
	}
	at := func() time.Time { return t0.Add(time.Duration(rng.IntN(1_000_000)) * time.Second) }
	for i := range 60 {
		r := rec(fmt.Sprintf("D%d", i%3), "1", fmt.Sprintf("f%d", i), sha(byte('a'+i%7)), at())
		r.ReceivedAt = at()
		r.State = []State{StateStaged, StateVerified}[rng.IntN(2)]
		if i%5 == 0 {
			r.Source, r.SourceID = SourceRoom, fmt.Sprintf("room-%d", i%2)
		}
		if _, _, err := c.Add(r); err != nil {
			t.Fatal(err)
		}
		seen(r.ReceivedAt)
	}
	checkIndexes(t, c, newestSeen)
	for step := range 1500 {
		id := uint64(1 + rng.IntN(60))
		_, err := c.Update(id, func(x *Recording) error {
			randomChange(rng, x, at)
			seen(x.ReceivedAt, x.ExpiringAt)
			return nil
		})
		var se *StateError
		if err != nil && !errors.As(err, &se) {
			t.Fatal(err)
		}
		if step%100 == 0 {
			checkIndexes(t, c, newestSeen)
		}
	}
	checkIndexes(t, c, newestSeen)
	// The walk reached every retention index.
	for _, b := range schema2Buckets {
		if n := len(indexIDs(t, c, b)); n == 0 {
			t.Errorf("%s is empty after the walk", b)
		}
	}
}

// randomChange moves x along an allowed transition and changes one of the
// fields the retention indexes read.
func randomChange(rng *rand.Rand, x *Recording, at func() time.Time) {
	if next := transitions[x.State]; len(next) > 0 && rng.IntN(2) == 0 {
		x.State = next[rng.IntN(len(next))]
		switch x.State {
		case StateArchived:
			x.ArchiveKey, x.ArchivedAt, x.RetainUntil = "k", at(), at()
		case StateExpiring:
			x.ExpiringAt = at()
		}
	}
	switch rng.IntN(7) {
	case 0:
		x.Holds = append(x.Holds, Hold{Reason: "evidence"})
	case 1:
		x.Holds = nil
	case 2:
		x.LegalHold = !x.LegalHold
	case 3:
		x.EvictedAt = at()
	case 4:
		x.EvictedAt = time.Time{}
	case 5:
		x.PendingRelease = []byte("p")
		if rng.IntN(2) == 0 {
			x.PendingRelease = nil
		}
	case 6:
		x.RetainUntil = at()
	}
}

func TestDue(t *testing.T) {
	c := openTestCatalog(t)
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	type mod func(*Recording)
	archived := func(d int, local bool) mod {
		return func(r *Recording) {
			r.State, r.ArchiveKey, r.ArchivedAt, r.RetainUntil = StateArchived, "k", day(d), day(d+180)
			if !local {
				r.EvictedAt = day(d + 8)
			}
		}
	}
	held := func(r *Recording) { r.Holds = []Hold{{Reason: "evidence"}} }
	expiring := func(d int) mod { return func(r *Recording) { r.State, r.ExpiringAt = StateExpiring, day(d) } }
	size := func(n int64) mod { return func(r *Recording) { r.Size = n } }
	blob := func(c byte) mod { return func(r *Recording) { r.SHA256 = sha(c) } }
	for i, mods := range [][]mod{
		{},                                        // 1: verified, started day 0
		{archived(1, false)},                      // 2: archived, started day 1
		{archived(1, false), held},                // 3: held: never expires
		{archived(1, false), expiring(20)},        // 4: expiring since day 20
		{archived(1, false), expiring(20), held},  // 5: held while expiring
		{archived(2, true), size(100)},            // 6: local copy archived day 2
		{archived(3, true), size(100), blob('x')}, // 7: local copy, blob shared with 8
		{blob('x')},                               // 8: verified, same blob as 7
		{archived(4, true), size(100)},            // 9
		{archived(5, true), size(100)},            // 10
	} {
		r := rec("D1", "1", fmt.Sprintf("f%d", i), sha(byte('a'+i)), day(i/2))
		r.ReceivedAt = r.StartedAt.Add(time.Hour)
		for _, m := range mods {
			m(&r)
		}
		if _, _, err := c.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	all := func(_, _, _ time.Time) bool { return true }
	tests := []struct {
		name string
		q    DueQuery
		want []uint64
	}{
		{"nothing", DueQuery{}, []uint64{5}},
		{"started by day 2, bound inclusive", DueQuery{StartedBy: day(2), Expired: all}, []uint64{1, 2, 5, 6}},
		{"started before day 2", DueQuery{StartedBy: day(2).Add(-1), Expired: all}, []uint64{1, 2, 5}},
		{"expired says no", DueQuery{StartedBy: day(9), Expired: func(_, _, _ time.Time) bool { return false }}, []uint64{5}},
		{"expiring by day 20", DueQuery{ExpiringBy: day(20)}, []uint64{4, 5}},
		{"expiring by day 19", DueQuery{ExpiringBy: day(19)}, []uint64{5}},
		{"archived by day 2", DueQuery{ArchivedBy: day(2)}, []uint64{5, 6}},
		{"archived by day 3 brings the blob's other recording", DueQuery{ArchivedBy: day(3)}, []uint64{5, 6, 7, 8}},
		// 100 bytes from 6; 7 frees nothing for certain; 9 makes 200.
		{"pressure", DueQuery{FreeBytes: 150}, []uint64{5, 6, 7, 8, 9}},
		{"pressure for all", DueQuery{FreeBytes: 1000}, []uint64{5, 6, 7, 8, 9, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := dueAll(context.Background(), c, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if ids := idsOf(d.Recordings); !slices.Equal(ids, tc.want) {
				t.Fatalf("ids %v, want %v", ids, tc.want)
			}
		})
	}
	// Expired sees the records' times exactly, zero ones included.
	var got [][3]time.Time
	dueAll(context.Background(), c, DueQuery{StartedBy: day(0), Expired: func(s, rcv, u time.Time) bool {
		got = append(got, [3]time.Time{s, rcv, u})
		return false
	}})
	r1, _ := c.Get(1)
	r2, _ := c.Get(2)
	if len(got) != 2 || !got[0][0].Equal(r1.StartedAt) || !got[0][1].Equal(r1.ReceivedAt) || !got[0][2].IsZero() ||
		!got[1][2].Equal(r2.RetainUntil) {
		t.Fatalf("expired saw %v; want %v and %v", got, r1, r2)
	}
	if ids := indexIDs(t, c, bucketIdxLegal); !slices.Equal(ids, []uint64{3, 5}) {
		t.Fatalf("legal holds pending %v, want [3 5]", ids)
	}
	if d, _ := dueAll(context.Background(), c, DueQuery{}); !d.Newest.Equal(day(20)) {
		t.Fatalf("newest %v", d.Newest)
	}
	// A plan nobody waits for stops: a cancelled context reads nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dueAll(ctx, c, DueQuery{StartedBy: day(9), Expired: all}); !errors.Is(err, context.Canceled) {
		t.Fatalf("due with a cancelled context: %v", err)
	}
}

// dueAll is everything DueStream reads, both parts, each recording once, in
// id order.
func dueAll(ctx context.Context, c *Catalog, q DueQuery) (Due, error) {
	var d Due
	byID := map[uint64]Recording{}
	err := c.DueStream(ctx, q, func(local Due) error {
		d.Newest = local.Newest
		for _, r := range local.Recordings {
			byID[r.ID] = r
		}
		return nil
	}, func(batch []Recording) error {
		for _, r := range batch {
			byID[r.ID] = r
		}
		return nil
	})
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		d.Recordings = append(d.Recordings, byID[id])
	}
	return d, err
}
