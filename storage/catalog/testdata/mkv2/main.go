// mkv2 wrote v2.db.gz, a catalog in the schema 2 layout (every record and
// event JSON), built with custodian 659a887 (the last schema 2 commit):
// `go run ./mkv2 v2.db`, then gzip -9. It holds a station's year of 2,000
// recordings (catalogtest.Station: every state, holds, evicted and expired
// copies, room segments), then changes with people as actors, a
// non-UTF-8 name, a session and a gap.
package main

import (
	"fmt"
	"os"
	"time"

	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

func main() {
	path := os.Args[1]
	now := time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)
	c, err := catalog.Open(path, catalog.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	until := func(r *catalog.Recording) time.Time { return r.StartedAt.AddDate(0, 6, 0) }
	st := catalogtest.Station{N: 2000, Now: now, RetainUntil: until, LocalKeep: 7 * 24 * time.Hour, Grace: 7 * 24 * time.Hour}
	if err := st.Build(c); err != nil {
		panic(err)
	}
	for id := uint64(1990); id <= 1995; id++ {
		_, err := c.Update(id, func(x *catalog.Recording) error {
			x.Holds = append(x.Holds, catalog.Hold{Reason: "major-case", By: "chen.li", At: now, Why: "robbery 案", Case: "C9"})
			x.Cases = append(x.Cases, "C9")
			return nil
		}, catalog.Event{Type: catalog.EventHeld, Actor: "chen.li", Detail: "major-case: robbery 案 (case C9)"})
		if err != nil {
			panic(err)
		}
	}
	r := catalogtest.Record("J0000009", "000009", "bad\ufffd.MP4", fmt.Sprintf("%064x", 999999), now.Add(-time.Hour))
	r.NameRaw, r.Flags, r.Ext = []byte("bad\xff.MP4"), []string{catalog.FlagNameNotUTF8}, "MP4"
	if _, _, err := c.Add(r, catalog.Event{Type: catalog.EventIngested, Detail: "dock dock-a slot 1 file bad\ufffd.MP4"}); err != nil {
		panic(err)
	}
	s, err := c.StartSession(catalog.Session{Room: "room-01", Case: "C9", Subject: "S1", Officers: []string{"000001"},
		StartedAt: now.Add(-2 * time.Hour), StartedBy: "chen.li"})
	if err != nil {
		panic(err)
	}
	if _, err := c.StopSession(s.Room, now.Add(-time.Hour), "chen.li"); err != nil {
		panic(err)
	}
	if err := c.AddGap(catalog.Gap{Room: "room-01", Start: now.Add(-90 * time.Minute), End: now.Add(-89 * time.Minute), Reason: "media_gap"}); err != nil {
		panic(err)
	}
	if err := c.Append(catalog.Event{Type: catalog.EventConfig, Actor: "admin", Detail: "retention.standard 6mo"}); err != nil {
		panic(err)
	}
}
