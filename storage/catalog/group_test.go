package catalog

import (
	"fmt"
	"sync"
	"testing"
)

// Concurrent Adds each get their own committed record and event, in
// groups, with the custody chain intact; a bad record fails only itself.
func TestAddGroups(t *testing.T) {
	c := openTestCatalog(t)
	var wg sync.WaitGroup
	const n = 200
	ids := make([]uint64, n)
	for i := range n {
		wg.Go(func() {
			r := Recording{Device: "D1", Name: fmt.Sprintf("f%d.mp4", i), SHA256: fmt.Sprintf("%064x", i+1), Size: 1, State: StateVerified}
			if i%50 == 7 {
				r.State = "bogus"
			}
			rec, created, err := c.Add(r, Event{Type: EventIngested})
			switch {
			case i%50 == 7 && err == nil:
				t.Errorf("add %d: a bad record was stored", i)
			case i%50 != 7 && (err != nil || !created):
				t.Errorf("add %d: %v %v", i, created, err)
			}
			ids[i] = rec.ID
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for i, id := range ids {
		if i%50 == 7 {
			continue
		}
		r, err := c.Get(id)
		if err != nil || r.Name != fmt.Sprintf("f%d.mp4", i) || seen[id] {
			t.Fatalf("record %d (%d): %+v %v", i, id, r, err)
		}
		seen[id] = true
	}
	if events, err := c.VerifyEvents(); err != nil || events != n-4 {
		t.Fatalf("chain: %d events, %v", events, err)
	}
}
