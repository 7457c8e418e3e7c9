package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// EventLines returns, in trail order, the custody events that keep selects,
// each with its bytes exactly as stored: what an export hands out must be
// byte for byte what the archived trail holds.
func (c *Catalog) EventLines(keep func(Event) bool) ([]Event, [][]byte, error) {
	var events []Event
	var lines [][]byte
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if keep(e) {
				events = append(events, e)
				lines = append(lines, bytes.Clone(v))
			}
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	return events, lines, nil
}
