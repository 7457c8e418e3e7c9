// mkv1 wrote v1.db.gz, a small catalog in the schema 1 layout, built with
// custodian 779aad3 (the last schema 1 release): `go run ./mkv1 v1.db`, then gzip -9.
// It holds recordings in every state, holds, shared blobs and room segments.
package main

import (
	"fmt"
	"os"
	"time"

	"custodian/storage/catalog"
)

func main() {
	path := os.Args[1]
	t0 := time.Date(2026, 5, 21, 8, 30, 0, 0, time.UTC)
	now := t0
	c, err := catalog.Open(path, catalog.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	sha := func(i int) string { return fmt.Sprintf("%064x", i) }
	add := func(i int, mod func(*catalog.Recording)) catalog.Recording {
		start := t0.Add(time.Duration(i) * time.Hour)
		r := catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0000001",
			Officer: "012345", Name: fmt.Sprintf("f%02d.mp4", i), SHA256: sha(i), Size: int64(1000 + i),
			StartedAt: start, ReceivedAt: start.Add(2 * time.Hour), State: catalog.StateVerified}
		if mod != nil {
			mod(&r)
		}
		rec, _, err := c.Add(r, catalog.Event{Type: catalog.EventIngested})
		if err != nil {
			panic(err)
		}
		return rec
	}
	update := func(id uint64, fn func(*catalog.Recording)) {
		if _, err := c.Update(id, func(x *catalog.Recording) error { fn(x); return nil }, catalog.Event{Type: "test"}); err != nil {
			panic(err)
		}
	}
	archive := func(x *catalog.Recording) {
		x.State, x.ArchiveKey, x.ArchiveVersion = catalog.StateArchived, "st01/"+x.SHA256, "v1"
		x.ArchivedAt = x.ReceivedAt.Add(time.Hour)
		x.RetainUntil = x.StartedAt.AddDate(0, 6, 0)
	}
	hold := func(x *catalog.Recording) {
		x.Holds = append(x.Holds, catalog.Hold{Reason: "evidence", By: "admin", At: now, Why: "case file", Case: "C1"})
	}
	add(1, func(r *catalog.Recording) { r.State = catalog.StateStaged })
	add(2, nil) // verified
	r := add(3, nil)
	update(r.ID, archive) // archived, local copy
	r = add(4, nil)
	update(r.ID, archive)
	update(r.ID, func(x *catalog.Recording) { x.EvictedAt = x.ArchivedAt.Add(8 * 24 * time.Hour) })
	r = add(5, nil) // archived and held, legal hold not yet applied
	update(r.ID, archive)
	update(r.ID, hold)
	r = add(6, nil) // archived, held, legal hold applied
	update(r.ID, archive)
	update(r.ID, func(x *catalog.Recording) { hold(x); x.LegalHold = true })
	r = add(7, nil) // released: legal hold still on
	update(r.ID, archive)
	update(r.ID, func(x *catalog.Recording) { x.LegalHold = true })
	now = t0.AddDate(0, 7, 0)
	r = add(8, nil) // expiring
	update(r.ID, archive)
	update(r.ID, func(x *catalog.Recording) {
		x.EvictedAt = now
		x.State, x.ExpiringAt, x.DeleteMarker = catalog.StateExpiring, now, "m1"
	})
	r = add(9, nil) // expiring, then held during the grace period
	update(r.ID, archive)
	update(r.ID, func(x *catalog.Recording) {
		x.State, x.ExpiringAt, x.DeleteMarker = catalog.StateExpiring, now.Add(time.Minute), "m2"
	})
	update(r.ID, hold)
	r = add(10, nil) // expired
	update(r.ID, archive)
	update(r.ID, func(x *catalog.Recording) { x.State, x.ExpiringAt = catalog.StateExpiring, now.Add(-8*24*time.Hour) })
	update(r.ID, func(x *catalog.Recording) { x.State, x.ExpiredAt, x.EvictedAt = catalog.StateExpired, now, now })
	r = add(11, nil)
	update(r.ID, func(x *catalog.Recording) { x.State = catalog.StateMissing })
	r = add(12, nil)
	update(r.ID, func(x *catalog.Recording) { x.State = catalog.StateCorrupt })
	// Two recordings of one blob: one archived with a local copy, one verified.
	r = add(13, func(r *catalog.Recording) { r.SHA256 = sha(99) })
	update(r.ID, archive)
	add(14, func(r *catalog.Recording) { r.SHA256, r.Device = sha(99), "J0000002" })
	// Interview-room segments of two rooms.
	for i, room := range []string{"interview-1", "interview-1", "interview-2"} {
		add(15+i, func(r *catalog.Recording) {
			r.Source, r.SourceID, r.Device, r.Officer = catalog.SourceRoom, room, "", ""
			r.EndedAt = r.StartedAt.Add(10 * time.Minute)
		})
	}
	// The newest received_at of the catalog.
	now = t0.AddDate(0, 8, 0)
	add(18, func(r *catalog.Recording) { r.ReceivedAt = now })
}
