package catalog

import (
	"slices"
	"testing"
	"time"
)

func TestPagedAndRoomReaders(t *testing.T) {
	c := openTestCatalog(t)
	seg := func(room, name string, c byte, start time.Time) Recording {
		r := rec("", "", name, sha(c), start)
		r.Source, r.SourceID = SourceRoom, room
		return r
	}
	for _, r := range []Recording{
		seg("room-1", "s1", 'a', t0.Add(time.Hour)),
		seg("room-1", "s2", 'b', t0),
		seg("room-10", "s3", 'c', t0.Add(2*time.Hour)), // shares a prefix with room-1
		rec("D1", "1", "d", sha('d'), t0),
		rec("D1", "1", "e", sha('e'), t0),
	} {
		if _, _, err := c.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	c.Update(5, func(r *Recording) error { r.State = StateArchived; r.EvictedAt = t0; return nil })

	if r, ok, err := c.LastInRoom("room-1"); err != nil || !ok || r.ID != 1 {
		t.Fatalf("last in room-1: %d %v %v, want 1", r.ID, ok, err)
	}
	if r, ok, _ := c.LastInRoom("room-10"); !ok || r.ID != 3 {
		t.Fatalf("last in room-10: %d %v, want 3", r.ID, ok)
	}
	if _, ok, _ := c.LastInRoom("room"); ok {
		t.Fatal("a room without segments has a last one")
	}
	if got := listIDs(t, c, Filter{Source: SourceRoom, SourceID: "room-1"}); !slices.Equal(got, []uint64{2, 1}) {
		t.Fatalf("room-1 in start order: %v", got)
	}

	var pages [][]uint64
	for after := uint64(0); ; {
		recs, err := c.InState(StateVerified, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		var ids []uint64
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		pages = append(pages, ids)
		after = ids[len(ids)-1]
	}
	if len(pages) != 2 || !slices.Equal(pages[0], []uint64{1, 2}) || !slices.Equal(pages[1], []uint64{3, 4}) {
		t.Fatalf("verified pages %v", pages)
	}
	if recs, _ := c.WithLocalCopy(2, 10); len(recs) != 2 || recs[0].ID != 3 || recs[1].ID != 4 {
		t.Fatalf("local copies after 2: %v", recs)
	}
	got, err := c.Unreferenced([]string{sha('a'), sha('f'), sha('e'), sha('0')})
	if err != nil || !slices.Equal(got, []string{sha('f'), sha('0')}) {
		t.Fatalf("unreferenced %v %v", got, err)
	}
}

func listIDs(t *testing.T, c *Catalog, f Filter) []uint64 {
	t.Helper()
	recs, err := c.List(f)
	if err != nil {
		t.Fatal(err)
	}
	return idsOf(recs)
}

func idsOf(recs []Recording) []uint64 {
	var ids []uint64
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}
