package upload

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"custodian/storage/archive/archivetest"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

// A quiet station's events are anchored within the hour, not when a
// thousand more arrive, and whatever is open at shutdown is anchored then.
func TestAuditChunksCloseByAgeAndAtShutdown(t *testing.T) {
	now := catalogtest.T0
	c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return now }})
	store := archivetest.NewFake(5 << 20)
	log := slog.New(slog.DiscardHandler)
	for range 3 {
		if err := c.Append(catalog.Event{Type: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	ship := func(closeBefore time.Time) int {
		n, err := ShipAudit(context.Background(), c, store, "st01", now.Add(time.Hour), closeBefore, log)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := ship(now.Add(-time.Hour)); n != 0 {
		t.Fatalf("a young chunk of 3 events shipped: %d", n)
	}
	now = now.Add(61 * time.Minute)
	if n := ship(now.Add(-time.Hour)); n != 1 {
		t.Fatalf("an hour-old chunk not shipped: %d", n)
	}
	chunks, _ := c.AuditChunks()
	if len(chunks) != 1 || chunks[0].First != 1 || chunks[0].Last != 3 {
		t.Fatalf("chunks %+v", chunks)
	}

	// At shutdown the open chunk goes, however young.
	c.Append(catalog.Event{Type: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	AuditShipper{Catalog: c, Store: store, Station: "st01", Interval: time.Hour,
		RetainUntil: func(t time.Time) time.Time { return t.Add(time.Hour) }, Log: log}.Run(ctx)
	chunks, _ = c.AuditChunks()
	if len(chunks) != 2 || chunks[1].First != 4 || chunks[1].Last != 4 {
		t.Fatalf("chunks after shutdown %+v", chunks)
	}
	if n, err := VerifyAudit(context.Background(), c, store); err != nil || n != 4 {
		t.Fatalf("verify %d %v", n, err)
	}
}
