package catalog

import (
	"context"
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
	if events, records, err := c.VerifyAll(context.Background(), nil); err != nil || events != 4 || records != 3 {
		t.Fatalf("verify all, intact: %d events, %d records, %v", events, records, err)
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
	// In one pass with the chain, the chain speaks first: the events that
	// take the hash from the record no longer match their own hashes.
	_, _, err = c.VerifyAll(context.Background(), nil)
	if !errors.As(err, &ce) || ce.Reason != "content does not match its hash" || ce.Seq != 2 {
		t.Fatalf("verify all: %v, want event 2's content not matching its hash", err)
	}
	if _, err := c.VerifyEvents(); !errors.As(err, &ce) || ce.Seq != 2 {
		t.Fatalf("verify events: %v, want event 2 as VerifyAll", err)
	}
}
