package catalog

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkEvery is how many entries a long read goes between looks at its
// context: a caller that leaves stops it within milliseconds.
const checkEvery = 4096

// VerifyRecords checks every recording against the custody trail: the
// SHA-256 a record holds must be the one its events recorded (each event
// carries the hash of its recording as it was then), and every record must
// have an event. An edited record is named by the event that contradicts
// it, as a *ChainError. It returns how many recordings it checked. The
// trail's own chain is VerifyEvents' to check.
func (c *Catalog) VerifyRecords() (int, error) {
	return c.VerifyRecordsContext(context.Background())
}

// VerifyRecordsContext is VerifyRecords, stopped when ctx ends. It holds a
// bit per recording id, and an entry only for the recordings whose events
// store their sha256 themselves (JSON from before schema 3, compacted
// away) or contradict their record: not the catalog.
func (c *Catalog) VerifyRecordsContext(ctx context.Context) (int, error) {
	n := 0
	err := c.db.View(func(tx *bolt.Tx) error {
		trail, _, err := walkTrail(ctx, tx, walkHashes, nil)
		if err != nil {
			return err
		}
		n, err = trail.checkRecords(ctx, tx)
		return err
	})
	return n, err
}

// VerifyAll is VerifyEvents and then VerifyRecords in one pass over the
// trail, in one read transaction: what audit verify and catalog check
// ask. It returns the events and the recordings it checked. progress, if
// not nil, is told how many events are checked every few thousand.
func (c *Catalog) VerifyAll(ctx context.Context, progress func(events int)) (events, records int, err error) {
	err = c.db.View(func(tx *bolt.Tx) error {
		trail, n, err := walkTrail(ctx, tx, walkChain|walkHashes, progress)
		if events = n; err != nil {
			return err
		}
		records, err = trail.checkRecords(ctx, tx)
		return err
	})
	return events, records, err
}

// checkRecords checks every record against t.
func (t *trail) checkRecords(ctx context.Context, tx *bolt.Tx) (int, error) {
	n := 0
	cur := tx.Bucket(bucketRecordings).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		id := binary.BigEndian.Uint64(k)
		r, err := decodeRecording(v)
		if err != nil {
			return n, fmt.Errorf("decode recording %d: %w", id, err)
		}
		if err := t.check(id, r.SHA256); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// trailHash is the hash an event stored for its recording, the last such
// event, and bad: an event that takes its sha256 from the record
// (codec_event.go) no longer matches its own hash, so the record's
// sha256 is not the one it was written with.
type trailHash struct {
	sha [32]byte
	seq uint64
	bad bool
}

// trail is what readTrail learnt: which recordings have an event, and the
// hashes events stored themselves or that went bad.
type trail struct {
	seen   []uint64 // bit per recording id
	hashes map[uint64]trailHash
}

func (t *trail) see(id uint64) {
	for uint64(len(t.seen)) <= id/64 {
		t.seen = append(t.seen, 0)
	}
	t.seen[id/64] |= 1 << (id % 64)
}

func (t *trail) check(id uint64, sha string) error {
	if id/64 >= uint64(len(t.seen)) || t.seen[id/64]&(1<<(id%64)) == 0 {
		return &ChainError{Seq: 0, Reason: fmt.Sprintf("recording %d has no custody event", id)}
	}
	h, ok := t.hashes[id]
	switch {
	case !ok:
		return nil // its events take its sha256 from it, and their hashes hold
	case h.bad:
		return &ChainError{Seq: h.seq, Reason: fmt.Sprintf("recording %d says sha256 %q; its events were written with another", id, sha)}
	}
	if got, err := hex.DecodeString(sha); err != nil || len(got) != 32 || [32]byte(got) != h.sha {
		return &ChainError{Seq: h.seq, Reason: fmt.Sprintf("recording %d says sha256 %q; this event recorded %x", id, sha, h.sha)}
	}
	return nil
}

// walk says what walkTrail checks and learns in its one pass.
type walk int

const (
	walkChain  walk = 1 << iota // the chain itself: VerifyEvents
	walkHashes                  // each recording's SHA-256, for VerifyRecords
)

// walkTrail reads the trail once, decoding each event once, and returns
// how many events it read. With walkChain it checks the chain; with
// walkHashes it learns, per recording, the SHA-256 its events recorded
// (two events of one recording that disagree are a break of their own).
func walkTrail(ctx context.Context, tx *bolt.Tx, mode walk, progress func(int)) (*trail, int, error) {
	t := &trail{hashes: map[uint64]trailHash{}}
	prev, base := "", recordSHA(tx)
	cur := tx.Bucket(bucketEvents).Cursor()
	n := 0
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if n%checkEvery == 0 {
			if ctx.Err() != nil {
				return nil, n, ctx.Err()
			}
			if progress != nil {
				progress(n)
			}
		}
		seq := binary.BigEndian.Uint64(k)
		byRef := false
		e, err := trailEvent(seq, v, prev, func(id uint64) string { byRef = true; return base(id) })
		if err != nil {
			return nil, n, err
		}
		chain := mode&walkChain != 0
		if chain {
			if err := e.follows(uint64(n)+1, seq, prev); err != nil {
				return nil, n, err
			}
		}
		prev = e.Hash
		n++
		if mode&walkHashes == 0 {
			continue
		}
		if err := t.add(e, seq, byRef, chain); err != nil {
			return nil, n, err
		}
	}
	if progress != nil {
		progress(n)
	}
	if mode&walkChain != 0 {
		if last := string(tx.Bucket(bucketMeta).Get(keyLastEventHash)); last != prev {
			return nil, n, &ChainError{Seq: uint64(n) + 1, Reason: "trail ends before its recorded head"}
		}
	}
	return t, n, nil
}

// follows checks that e, stored under seq, is entry want of the chain and
// follows prev, the hash of the entry before it.
func (e *Event) follows(want, seq uint64, prev string) error {
	switch {
	case seq != want:
		return &ChainError{Seq: want, Reason: fmt.Sprintf("entry missing (next present is %d)", seq)}
	case e.Seq != seq:
		return &ChainError{Seq: seq, Reason: fmt.Sprintf("entry claims sequence %d", e.Seq)}
	case e.Prev != prev:
		return &ChainError{Seq: seq, Reason: "does not follow the previous entry"}
	case e.Sum() != e.Hash:
		return &ChainError{Seq: seq, Reason: "content does not match its hash"}
	}
	return nil
}

// add learns what event e, stored under seq, says of its recording's hash.
// byRef: e took its sha256 from the record, and its own hash says whether
// that is the one it was written with; proven: the chain's check of that
// hash passed already (no need to compute it twice).
func (t *trail) add(e Event, seq uint64, byRef, proven bool) error {
	if e.Recording == 0 || e.SHA256 == "" {
		return nil
	}
	t.see(e.Recording)
	last, seen := t.hashes[e.Recording]
	if byRef {
		if !proven && e.Sum() != e.Hash {
			last.seq, last.bad = seq, true
			t.hashes[e.Recording] = last
		}
		return nil
	}
	b, err := hex.DecodeString(e.SHA256)
	if err != nil || len(b) != 32 {
		return &ChainError{Seq: seq, Reason: "sha256 of recording is not a hash"}
	}
	if seen && !last.bad && last.sha != [32]byte(b) {
		return &ChainError{Seq: seq, Reason: fmt.Sprintf("recording %d's sha256 differs from event %d's", e.Recording, last.seq)}
	}
	t.hashes[e.Recording] = trailHash{sha: [32]byte(b), seq: seq, bad: last.bad}
	return nil
}
