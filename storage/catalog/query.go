package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Filter selects recordings. Zero fields match everything. From and To bound
// StartedAt: From inclusive, To exclusive.
type Filter struct {
	Officer  string
	Device   string
	State    State
	Source   Source
	SourceID string
	Case     string
	From, To time.Time
	// Limit caps the result; 0 means no cap.
	Limit int
}

func (f Filter) match(r *Recording) bool {
	switch {
	case f.Officer != "" && r.Officer != f.Officer,
		f.Device != "" && r.Device != f.Device,
		f.State != "" && r.State != f.State,
		f.Source != "" && r.Source != f.Source,
		f.SourceID != "" && r.SourceID != f.SourceID,
		f.Case != "" && !slices.Contains(r.Cases, f.Case),
		!f.From.IsZero() && r.StartedAt.Before(f.From),
		!f.To.IsZero() && !r.StartedAt.Before(f.To):
		return false
	}
	return true
}

// List returns the recordings that match f, using the narrowest index.
// Results from a time index come in start-time order, others in id order.
func (c *Catalog) List(f Filter) ([]Recording, error) {
	var out []Recording
	err := c.db.View(func(tx *bolt.Tx) error {
		add := func(id uint64) (bool, error) {
			r, err := getRecording(tx, id)
			if err != nil {
				return false, err
			}
			if f.match(&r) {
				out = append(out, r)
			}
			return f.Limit == 0 || len(out) < f.Limit, nil
		}
		switch {
		case f.Officer != "":
			return scanTimeIndex(tx.Bucket(bucketIdxOfficer), []byte(f.Officer), f.From, f.To, add)
		case f.Device != "":
			return scanTimeIndex(tx.Bucket(bucketIdxDevice), []byte(f.Device), f.From, f.To, add)
		case f.State != "":
			return scanPrefix(tx.Bucket(bucketIdxState), join([]byte(f.State), sep), add)
		case !f.From.IsZero() || !f.To.IsZero():
			return scanTimeIndex(tx.Bucket(bucketIdxTime), nil, f.From, f.To, add)
		default:
			return scanPrefix(tx.Bucket(bucketRecordings), nil, func(id uint64) (bool, error) { return add(id) })
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	return out, nil
}

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
