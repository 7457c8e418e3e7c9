package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// scanPrefix calls add with the id in the last 8 bytes of every key under prefix.
func scanPrefix(b *bolt.Bucket, prefix []byte, add func(uint64) (bool, error)) error {
	cur := b.Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		more, err := add(binary.BigEndian.Uint64(k[len(k)-8:]))
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Received lists the recordings the station received in [from, to), by
// the receipt index: what a day's report says of the cameras docked that
// day, whatever their clocks claim.
func (c *Catalog) Received(from, to time.Time) ([]Recording, error) {
	var out []Recording
	err := c.db.View(func(tx *bolt.Tx) error {
		return scanTimeIndex(tx.Bucket(bucketIdxRecv), nil, from, to, func(id uint64) (bool, error) {
			r, err := getRecording(tx, id)
			out = append(out, r)
			return true, err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("recordings received %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return out, nil
}

// scanTimeIndex walks keys of the form [name 0] u64(time) u64(id) between from and to.
func scanTimeIndex(b *bolt.Bucket, name []byte, from, to time.Time, add func(uint64) (bool, error)) error {
	var prefix []byte
	if name != nil {
		prefix = join(name, sep)
	}
	start := join(prefix, u64(timeKey(from)))
	cur := b.Cursor()
	for k, _ := cur.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		if len(k) != len(prefix)+16 {
			continue // a longer name that shares the prefix
		}
		if !to.IsZero() && binary.BigEndian.Uint64(k[len(prefix):]) >= timeKey(to) {
			return nil
		}
		more, err := add(binary.BigEndian.Uint64(k[len(prefix)+8:]))
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// LastInRoom returns the room's segment that started last.
func (c *Catalog) LastInRoom(room string) (Recording, bool, error) {
	var r Recording
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		prefix := join([]byte(room), sep)
		cur := tx.Bucket(bucketIdxRoom).Cursor()
		// The room's last key sits just before the first key past its
		// prefix; room ids hold no 0 byte, so no other room's keys are between.
		k, _ := cur.Seek(join([]byte(room), []byte{1}))
		if k == nil {
			k, _ = cur.Last()
		} else {
			k, _ = cur.Prev()
		}
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return nil
		}
		var err error
		r, err = getRecording(tx, keyID(k))
		found = err == nil
		return err
	})
	if err != nil {
		return Recording{}, false, fmt.Errorf("last segment of room %s: %w", room, err)
	}
	return r, found, nil
}

// InState returns up to n recordings in state s with ids above after, in
// id order: a caller walks a large state page by page, holding neither
// every record nor a read transaction between pages.
func (c *Catalog) InState(s State, after uint64, n int) ([]Recording, error) {
	return c.page(bucketIdxState, join([]byte(s), sep), after, n)
}

// WithLocalCopy returns up to n recordings whose copy staging should hold,
// with ids above after, in id order.
func (c *Catalog) WithLocalCopy(after uint64, n int) ([]Recording, error) {
	return c.page(bucketIdxLocal, nil, after, n)
}

// page reads up to n records from an index whose keys are prefix u64(id).
func (c *Catalog) page(bucket, prefix []byte, after uint64, n int) ([]Recording, error) {
	var out []Recording
	err := c.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucket).Cursor()
		for k, _ := cur.Seek(join(prefix, u64(after+1))); k != nil && bytes.HasPrefix(k, prefix) && len(out) < n; k, _ = cur.Next() {
			r, err := getRecording(tx, keyID(k))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bucket, err)
	}
	return out, nil
}

// Unreferenced returns the hashes in shas that no recording has.
func (c *Catalog) Unreferenced(shas []string) ([]string, error) {
	var out []string
	err := c.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketIdxSHA).Cursor()
		for _, sha := range shas {
			prefix := join([]byte(sha), sep)
			if k, _ := cur.Seek(prefix); k == nil || !bytes.HasPrefix(k, prefix) {
				out = append(out, sha)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up hashes: %w", err)
	}
	return out, nil
}
