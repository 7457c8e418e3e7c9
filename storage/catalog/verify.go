package catalog

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// VerifyRecords checks every recording against the custody trail: the
// SHA-256 a record holds must be the one its events recorded (each event
// carries the hash of its recording as it was then), and every record must
// have an event. An edited record is named by the event that contradicts
// it, as a *ChainError. It returns how many recordings it checked. The
// trail's own chain is VerifyEvents' to check.
func (c *Catalog) VerifyRecords() (int, error) {
	n := 0
	err := c.db.View(func(tx *bolt.Tx) error {
		trail, err := trailHashes(tx)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketRecordings).ForEach(func(k, v []byte) error {
			id := binary.BigEndian.Uint64(k)
			r, err := decodeRecording(v)
			if err != nil {
				return fmt.Errorf("decode recording %d: %w", id, err)
			}
			t, ok := trail[id]
			if !ok {
				return &ChainError{Seq: 0, Reason: fmt.Sprintf("recording %d has no custody event", id)}
			}
			if t.bad {
				return &ChainError{Seq: t.seq, Reason: fmt.Sprintf("recording %d says sha256 %q; its events were written with another", id, r.SHA256)}
			}
			if got, err := hex.DecodeString(r.SHA256); err != nil || len(got) != 32 || [32]byte(got) != t.sha {
				return &ChainError{Seq: t.seq, Reason: fmt.Sprintf("recording %d says sha256 %q; this event recorded %x", id, r.SHA256, t.sha)}
			}
			n++
			return nil
		})
	})
	return n, err
}

// trailHash is the hash the trail last recorded for a recording; bad: an
// event that takes its sha256 from the record (codec_event.go) no longer
// matches its own hash, so the record's sha256 is not the one it was
// written with.
type trailHash struct {
	sha [32]byte
	seq uint64
	bad bool
}

// trailHashes reads, per recording, the SHA-256 its events recorded; two
// events of one recording that disagree are a break of their own.
func trailHashes(tx *bolt.Tx) (map[uint64]trailHash, error) {
	out := map[uint64]trailHash{}
	prev, base := "", recordSHA(tx)
	err := tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		seq := binary.BigEndian.Uint64(k)
		byRef := false
		e, err := decodeEvent(seq, v, prev, func(id uint64) string { byRef = true; return base(id) })
		if err != nil {
			return &ChainError{Seq: seq, Reason: "undecodable entry"}
		}
		if prev, err = eventHash(v); err != nil {
			return &ChainError{Seq: seq, Reason: "undecodable entry"}
		}
		if e.Recording == 0 || e.SHA256 == "" {
			return nil
		}
		b, err := hex.DecodeString(e.SHA256)
		if err != nil || len(b) != 32 {
			return &ChainError{Seq: seq, Reason: "sha256 of recording is not a hash"}
		}
		last, seen := out[e.Recording]
		if !byRef && seen && !last.bad && last.sha != [32]byte(b) {
			return &ChainError{Seq: seq, Reason: fmt.Sprintf("recording %d's sha256 differs from event %d's", e.Recording, last.seq)}
		}
		bad := last.bad || byRef && e.Sum() != e.Hash
		if bad && !byRef {
			b = last.sha[:]
		}
		out[e.Recording] = trailHash{sha: [32]byte(b), seq: seq, bad: bad}
		return nil
	})
	return out, err
}
