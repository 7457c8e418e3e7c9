package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// schema2Catalog is a copy of testdata/v2.db.gz, a catalog the last schema
// 2 custodian wrote (testdata/mkv2): every record and event JSON.
func schema2Catalog(t *testing.T) string { return unzipCatalog(t, "v2.db.gz") }

// snapshot is every record and event of a catalog as JSON, and its trail
// as shipped to the archive.
type snapshot struct {
	records map[uint64]string
	trail   []byte
	last    uint64
}

func takeSnapshot(t *testing.T, c *Catalog) snapshot {
	t.Helper()
	s := snapshot{records: map[uint64]string{}}
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecordings).ForEach(func(k, _ []byte) error {
			r, err := getRecording(tx, keyID(k))
			b, _ := json.Marshal(&r)
			s.records[r.ID] = string(b)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.last, err = c.LastEventSeq(); err != nil {
		t.Fatal(err)
	}
	if s.trail, err = c.EventBytes(1, s.last); err != nil {
		t.Fatal(err)
	}
	return s
}

// A catalog written by the last schema 2 custodian opens, becomes schema
// 3 with a custody event saying so, is compacted to binary, and every
// record, event, index and the custody chain check afterwards: the
// records read as before and the trail up to the migration gives the
// archive the same bytes it was shipped.
func TestSchema2MigratesAndCompacts(t *testing.T) {
	path := schema2Catalog(t)
	now := func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of schema 2: %v", err)
	}
	before := takeSnapshot(t, ro)
	ro.Close()

	c, err := Open(path, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	opened := takeSnapshot(t, c)
	if opened.last != before.last+1 || !bytes.HasPrefix(opened.trail, before.trail) {
		t.Fatalf("open: trail %d events, want the %d before and a migrated event", opened.last, before.last)
	}
	if ev, _ := c.RecentEvents(1); ev[0].Type != EventMigrated || !strings.Contains(ev[0].Detail, "schema 2 to 3") {
		t.Fatalf("last event %+v", ev[0])
	}
	// a change after the upgrade writes binary, among the JSON
	if _, err := c.Update(5, func(r *Recording) error { r.Cases = append(r.Cases, "C7"); return nil },
		Event{Type: EventLinked, Actor: "chen.li", Detail: "case C7"}); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Check()
	if err != nil || !rep.CaseIndexPending {
		t.Fatalf("check after upgrade: %+v %v", rep, err)
	}
	if recs, err := c.List(Filter{Case: "C9"}); err != nil || len(recs) != 6 {
		t.Fatalf("case listing before the case index: %d %v", len(recs), err)
	}
	if rep.JSONRecords != len(before.records)-1 || rep.JSONEvents != int(before.last) {
		t.Errorf("after upgrade %+v: want all but one record and every old event JSON", rep)
	}
	upgraded := takeSnapshot(t, c)
	c.Close()

	crep, err := Compact(path, now)
	if err != nil {
		t.Fatal(err)
	}
	if crep.After >= crep.Before/2 || crep.Check.JSONRecords != 0 || crep.Check.JSONEvents != 0 {
		t.Errorf("compact: %+v", crep)
	}
	c, err = Open(path, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rep, err := c.Check(); err != nil || rep.CaseIndexPending {
		t.Fatalf("check after compact: %+v %v", rep, err)
	}
	if recs, err := c.List(Filter{Case: "C9"}); err != nil || len(recs) != 6 {
		t.Fatalf("case listing by the case index: %d %v", len(recs), err)
	}
	after := takeSnapshot(t, c)
	if len(after.records) != len(upgraded.records) {
		t.Fatalf("%d records after compact, want %d", len(after.records), len(upgraded.records))
	}
	for id, want := range upgraded.records {
		if after.records[id] != want {
			t.Fatalf("record %d after compact\n got %s\nwant %s", id, after.records[id], want)
		}
	}
	if !bytes.HasPrefix(after.trail, upgraded.trail) || after.last != upgraded.last+1 {
		t.Fatalf("trail after compact: %d events, want the %d before and a migrated one", after.last, upgraded.last)
	}
	if ev, _ := c.RecentEvents(1); ev[0].Type != EventMigrated || !strings.Contains(ev[0].Detail, "compacted") {
		t.Fatalf("last event %+v", ev[0])
	}
	goesOn(t, c, uint64(len(upgraded.records))+1)
}

// goesOn adds a recording: its id and events follow the old ones.
func goesOn(t *testing.T, c *Catalog, want uint64) {
	t.Helper()
	r, _, err := c.Add(Recording{Station: "st01", Source: SourceDock, SourceID: "dock-a", Device: "J1", Name: "new.mp4",
		SHA256: hashHex([]byte("new")), State: StateVerified, StartedAt: c.Now(), ReceivedAt: c.Now()}, Event{Type: EventIngested})
	if err != nil || r.ID != want {
		t.Fatalf("add after compact: id %d, %v", r.ID, err)
	}
	if _, err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// Check finds an index entry that is missing and one no record calls for.
func TestCheckFindsIndexProblems(t *testing.T) {
	path := schema2Catalog(t)
	for _, tc := range []struct {
		name   string
		break_ func(tx *bolt.Tx) error
	}{
		{"missing", func(tx *bolt.Tx) error { return tx.Bucket(bucketIdxOfficer).Delete(firstKey(tx, bucketIdxOfficer)) }},
		{"extra", func(tx *bolt.Tx) error { return tx.Bucket(bucketIdxLocal).Put(u64(999999), []byte{}) }},
		{"count", func(tx *bolt.Tx) error { return tx.Bucket(bucketCounts).Put([]byte(StateExpired), u64(1)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.db")
			b, _ := os.ReadFile(path)
			os.WriteFile(p, b, 0o600)
			c, err := Open(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.db.Update(tc.break_); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Check(); !errors.Is(err, ErrIndex) {
				t.Fatalf("check: %v, want ErrIndex", err)
			}
		})
	}
}

func firstKey(tx *bolt.Tx, bucket []byte) []byte {
	k, _ := tx.Bucket(bucket).Cursor().First()
	return append([]byte(nil), k...)
}

// Long reads stop when their caller leaves: a listing whose filter its
// index does not cover, and the trail's checks.
func TestLongReadsStopWithTheirContext(t *testing.T) {
	c, err := Open(schema2Catalog(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListContext(ctx, Filter{Flag: FlagRecovered}); !errors.Is(err, context.Canceled) {
		t.Errorf("list: %v", err)
	}
	if _, err := c.VerifyEventsContext(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("verify events: %v", err)
	}
	if _, err := c.VerifyRecordsContext(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("verify records: %v", err)
	}
	if _, _, err := c.VerifyAll(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("verify all: %v", err)
	}
	if recs, err := c.ListContext(context.Background(), Filter{Case: "C9"}); err != nil || len(recs) == 0 {
		t.Errorf("list with a live context: %d, %v", len(recs), err)
	}
}
