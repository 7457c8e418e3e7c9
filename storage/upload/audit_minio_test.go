package upload

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

// The custody trail goes to the archive in locked chunks; a local trail
// rewritten with consistent hashes still fails against them, and the
// station's own credentials cannot remove an archived chunk.
func TestAuditChunksOnMinIO(t *testing.T) {
	a := archivetest.OnMinIO(t, miniotest.Start(t), nil)
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "custodian.db")
	c, err := catalog.Open(dbPath, catalog.Options{Now: func() time.Time { return catalogtest.T0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close() }()
	for i := range 2*catalog.AuditChunkSize + 500 {
		if err := c.Append(catalog.Event{Type: "test", Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	n, err := ShipAudit(ctx, c, a, "st01", time.Now().Add(time.Hour), catalogtest.T0, log)
	if err != nil || n != 2 {
		t.Fatalf("shipped %d chunks: %v", n, err)
	}
	if n, _ := ShipAudit(ctx, c, a, "st01", time.Now().Add(time.Hour), catalogtest.T0, log); n != 0 {
		t.Fatalf("shipped %d chunks again", n)
	}
	if n, err := VerifyAudit(ctx, c, a, "st01"); err != nil || n != 2500 {
		t.Fatalf("verify: %d %v", n, err)
	}
	chunks, _ := c.AuditChunks()
	if err := a.Remove(ctx, chunks[0].Key, chunks[0].Version); err == nil {
		t.Fatal("an archived chunk of the custody trail was deleted")
	}
	if info, _ := a.Head(ctx, chunks[0].Key, chunks[0].Version); !info.LegalHold || info.RetentionMode != archive.RetentionCompliance {
		t.Fatalf("chunk not locked: %+v", info)
	}

	// Rewrite event 1500 and every hash after it, so the local chain holds
	// (read as JSON through the catalog: it stores events in binary).
	trail, err := c.EventBytes(1, 2500)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(trail, []byte("\n"))
	c.Close()
	db, err := bolt.Open(dbPath, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	u64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("events"))
		prev := ""
		for seq := uint64(1); seq <= 2500; seq++ {
			var e catalog.Event
			json.Unmarshal(lines[seq-1], &e)
			if seq == 1500 {
				e.Detail = "nothing happened"
			}
			e.Prev = prev
			e.Hash = e.Sum()
			prev = e.Hash
			v, _ := json.Marshal(e)
			b.Put(u64(seq), v)
		}
		// And forget what was shipped: only the archive's own list counts.
		if err := tx.DeleteBucket([]byte("audit_chunks")); err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte("audit_chunks")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("last_event_hash"), []byte(prev))
	})
	if err != nil || db.Close() != nil {
		t.Fatal(err)
	}
	if c, err = catalog.Open(dbPath, catalog.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyEvents(); err != nil {
		t.Fatalf("the rewritten chain should hold locally: %v", err)
	}
	_, err = VerifyAudit(ctx, c, a, "st01")
	var ce *catalog.ChainError
	if !errors.As(err, &ce) || ce.Seq != 1500 {
		t.Fatalf("err %v, want the archive to name event 1500", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte(chunks[1].Key)) {
		t.Fatalf("err %v does not name the chunk", err)
	}
}

func TestNoteSetting(t *testing.T) {
	c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return catalogtest.T0 }})
	for i, tc := range []struct {
		value   string
		changed bool
	}{{"standard=6mo", true}, {"standard=6mo", false}, {"standard=12mo", true}} {
		changed, err := c.NoteSetting("retention", tc.value)
		if err != nil || changed != tc.changed {
			t.Fatalf("step %d: changed %v err %v", i, changed, err)
		}
	}
	ev, _ := c.RecentEvents(1)
	if ev[0].Type != catalog.EventConfig || ev[0].Detail != "retention changed from standard=6mo to standard=12mo" {
		t.Fatalf("event %+v", ev[0])
	}
}
