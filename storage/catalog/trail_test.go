package catalog_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

// TestEventLines: the selected events come in trail order, with the bytes
// the archived trail holds.
func TestEventLines(t *testing.T) {
	c := catalogtest.Open(t, catalog.Options{})
	for i, sha := range []string{catalogtest.SHA('a'), catalogtest.SHA('b')} {
		r := catalogtest.Record("DEV1", "1", string(rune('x'+i)), sha, catalogtest.T0)
		if _, _, err := c.Add(r, catalog.Event{Type: catalog.EventIngested}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Append(catalog.Event{Type: catalog.EventConfig}); err != nil {
		t.Fatal(err)
	}
	events, lines, err := c.EventLines(func(e catalog.Event) bool { return e.Recording == 2 || e.Type == catalog.EventConfig })
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Seq != 2 || events[1].Seq != 3 {
		t.Fatalf("events %+v", events)
	}
	all, err := c.EventBytes(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	stored := bytes.Split(all, []byte{'\n'})
	for i, l := range lines {
		var e catalog.Event
		if !bytes.Equal(l, stored[events[i].Seq-1]) || json.Unmarshal(l, &e) != nil || e.Hash != events[i].Hash {
			t.Errorf("line %d differs from the stored event: %s", i, l)
		}
	}
}
