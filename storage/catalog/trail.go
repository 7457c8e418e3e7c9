package catalog

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// EventLines returns, in trail order, the custody events that keep selects,
// each with its bytes as the trail is shipped (EventBytes' lines, whatever
// the stored format): what an export hands out must be byte for byte what
// the archived trail holds.
func (c *Catalog) EventLines(keep func(Event) bool) ([]Event, [][]byte, error) {
	var events []Event
	var lines [][]byte
	err := c.db.View(func(tx *bolt.Tx) error {
		prev, sha := "", recordSHA(tx)
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			seq := binary.BigEndian.Uint64(k)
			e, err := trailEvent(seq, v, prev, sha)
			if err != nil {
				return err
			}
			prev = e.Hash
			if keep(e) {
				line, err := shippedLine(e, v)
				if err != nil {
					return err
				}
				events = append(events, e)
				lines = append(lines, append([]byte(nil), line...))
			}
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	return events, lines, nil
}
