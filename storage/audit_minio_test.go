package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"custodian/internal/miniotest"
)

// The custody trail goes to the archive in locked chunks; a local trail
// rewritten with consistent hashes still fails against them, and the
// station's own credentials cannot remove an archived chunk.
func TestAuditChunksOnMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	a, err := NewArchive(ArchiveConfig{Endpoint: srv.Endpoint, Bucket: "evidence", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	c := openTestCatalog(t)
	for i := range 2*AuditChunkSize + 500 {
		if err := c.Append(Event{Type: "test", Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	n, err := ShipAudit(ctx, c, a, "st01", time.Now().Add(time.Hour), log)
	if err != nil || n != 2 {
		t.Fatalf("shipped %d chunks: %v", n, err)
	}
	if n, _ := ShipAudit(ctx, c, a, "st01", time.Now().Add(time.Hour), log); n != 0 {
		t.Fatalf("shipped %d chunks again", n)
	}
	if n, err := VerifyAudit(ctx, c, a); err != nil || n != 2500 {
		t.Fatalf("verify: %d %v", n, err)
	}
	chunks, _ := c.AuditChunks()
	if err := a.Remove(ctx, chunks[0].Key, chunks[0].Version); err == nil {
		t.Fatal("an archived chunk of the custody trail was deleted")
	}
	if info, _ := a.Head(ctx, chunks[0].Key, chunks[0].Version); !info.LegalHold || info.RetentionMode != RetentionCompliance {
		t.Fatalf("chunk not locked: %+v", info)
	}

	// Rewrite event 1500 and every hash after it, so the local chain holds.
	c.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		prev := ""
		for seq := uint64(1); seq <= 2500; seq++ {
			var e Event
			json.Unmarshal(b.Get(u64(seq)), &e)
			if seq == 1500 {
				e.Detail = "nothing happened"
			}
			e.Prev = prev
			e.Hash = e.sum()
			prev = e.Hash
			v, _ := json.Marshal(e)
			b.Put(u64(seq), v)
		}
		return tx.Bucket(bucketMeta).Put(keyLastEventHash, []byte(prev))
	})
	if _, err := c.VerifyEvents(); err != nil {
		t.Fatalf("the rewritten chain should hold locally: %v", err)
	}
	_, err = VerifyAudit(ctx, c, a)
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Seq != 1500 {
		t.Fatalf("err %v, want the archive to name event 1500", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte(chunks[1].Key)) {
		t.Fatalf("err %v does not name the chunk", err)
	}
}

func TestNoteSetting(t *testing.T) {
	c := openTestCatalog(t)
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
	if ev[0].Type != EventConfig || ev[0].Detail != "retention changed from standard=6mo to standard=12mo" {
		t.Fatalf("event %+v", ev[0])
	}
}
