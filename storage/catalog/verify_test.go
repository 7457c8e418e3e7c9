package catalog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A record whose sha256 was edited behind the catalog's back is named by
// the event that recorded the true one.
func TestVerifyRecordsFindsEditedHash(t *testing.T) {
	c := openTestCatalog(t)
	var ids []uint64
	for i, s := range []byte{'a', 'b', 'c'} {
		r, _, err := c.Add(Recording{Device: "D1", Name: string(rune('x' + i)), SHA256: strings.Repeat(string(s), 64), Size: 1, State: StateVerified},
			Event{Type: EventIngested})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	c.Update(ids[1], func(r *Recording) error { r.Officer = "012345"; return nil }, Event{Type: EventArchived})
	if n, err := c.VerifyRecords(); err != nil || n != 3 {
		t.Fatalf("intact: %d %v", n, err)
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecordings)
		var r Recording
		json.Unmarshal(b.Get(u64(ids[1])), &r)
		r.SHA256 = strings.Repeat("f", 64)
		v, _ := json.Marshal(r)
		return b.Put(u64(ids[1]), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.VerifyRecords()
	var ce *ChainError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "recording 2 says sha256") || ce.Seq != 4 {
		t.Fatalf("err %v, want recording 2 named by event 4 (its last)", err)
	}
}
