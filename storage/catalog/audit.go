package catalog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Setting is the value NoteSetting last recorded for name, and since when
// (zero when it was recorded before custodian kept the time).
func (c *Catalog) Setting(name string) (value string, since time.Time, err error) {
	key := []byte("setting:" + name)
	err = c.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		value = string(meta.Get(key))
		since, _ = time.Parse(time.RFC3339, string(meta.Get(append(key, ":at"...))))
		return nil
	})
	return value, since, err
}

// AuditChunkSize is how many custody events make one closed chunk of the
// trail; each closed chunk goes to the archive as a locked object.
const AuditChunkSize = 1000

// AuditChunk is a closed chunk of the custody trail as the archive holds it.
type AuditChunk struct {
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
	Key     string `json:"key"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// EventBytes returns events first..last as JSON, one per line: exactly
// the bytes a JSON entry holds, and for a binary one the JSON it was
// written from (the encoding keeps a value binary only when it is).
func (c *Catalog) EventBytes(first, last uint64) ([]byte, error) {
	var buf bytes.Buffer
	err := c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		cur := b.Cursor()
		want := first
		prev, sha := "", recordSHA(tx)
		for k, v := cur.Seek(u64(first)); k != nil && binary.BigEndian.Uint64(k) <= last; k, v = cur.Next() {
			if binary.BigEndian.Uint64(k) != want {
				return &ChainError{Seq: want, Reason: "entry missing"}
			}
			if want == first {
				var err error
				if prev, err = prevHash(b, want, v); err != nil {
					return err
				}
			}
			e, err := trailEvent(want, v, prev, sha)
			if err != nil {
				return err
			}
			prev = e.Hash
			line, err := shippedLine(e, v)
			if err != nil {
				return err
			}
			buf.Write(line)
			buf.WriteByte('\n')
			want++
		}
		if want != last+1 {
			return &ChainError{Seq: want, Reason: "entry missing"}
		}
		return nil
	})
	return buf.Bytes(), err
}

// EventTime is when custody event seq was recorded.
func (c *Catalog) EventTime(seq uint64) (time.Time, error) {
	var e Event
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		e, err = getEvent(tx, seq)
		return err
	})
	return e.Time, err
}

// LastEventSeq is the sequence number of the newest custody event.
func (c *Catalog) LastEventSeq() (uint64, error) {
	var n uint64
	err := c.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
			n = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return n, err
}

// AuditChunks lists the chunks the archive holds, oldest first.
func (c *Catalog) AuditChunks() ([]AuditChunk, error) {
	var out []AuditChunk
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(_, v []byte) error {
			var ch AuditChunk
			if err := json.Unmarshal(v, &ch); err != nil {
				return err
			}
			out = append(out, ch)
			return nil
		})
	})
	return out, err
}

// PutAuditChunk records that the archive holds ch.
func (c *Catalog) PutAuditChunk(ch AuditChunk) error {
	v, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	return update(c.db, func(tx *bolt.Tx) error { return tx.Bucket(bucketAudit).Put(u64(ch.First), v) })
}

// NoteSetting records a configuration value that matters to custody (the
// retention rule). When it differs from the one recorded before, a config
// event goes into the trail and changed is true.
func (c *Catalog) NoteSetting(name, value string) (changed bool, err error) {
	key := []byte("setting:" + name)
	err = update(c.db, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		old := meta.Get(key)
		if old != nil && string(old) == value {
			return nil
		}
		changed = true
		detail := fmt.Sprintf("%s set to %s", name, value)
		if old != nil {
			detail = fmt.Sprintf("%s changed from %s to %s", name, old, value)
		}
		if err := meta.Put(key, []byte(value)); err != nil {
			return err
		}
		if err := meta.Put(append(key, ":at"...), []byte(c.now().UTC().Format(time.RFC3339))); err != nil {
			return err
		}
		return c.appendEvents(tx, nil, []Event{{Type: EventConfig, Detail: detail}})
	})
	if err != nil {
		return false, fmt.Errorf("note setting %s: %w", name, err)
	}
	return changed, nil
}
