package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DueQuery asks for the recordings a retention plan may act on. The catalog
// knows no policy: retention turns its period, local_keep, grace and
// min_free into these bounds, and the catalog reads only the index entries
// inside them.
type DueQuery struct {
	// StartedBy bounds the verified and archived recordings that are not
	// held: only those started by then are looked at, and Expired decides
	// from their indexed times, without reading the record, whether one is
	// read. A nil Expired reads none.
	StartedBy time.Time
	Expired   func(started, received, retainUntil time.Time) bool
	// ArchivedBy: every archived recording with a local copy archived by
	// then is read, oldest archive first; after them more, in the same
	// order, until the ones read whose blob no other recording shares add
	// up to FreeBytes (what staging lacks of min_free).
	ArchivedBy time.Time
	FreeBytes  int64
	// ExpiringBy: expiring recordings marked by then that are not held.
	// Held expiring ones are always read.
	ExpiringBy time.Time
}

// Due is what a DueQuery found.
type Due struct {
	// Recordings are the candidates in id order, each once, with every
	// other recording that shares a blob with an eviction candidate (which
	// decides whether the blob may go).
	Recordings []Recording
	// Newest is the newest received_at or expiring_at the catalog has
	// recorded, for the planner's clock check.
	Newest time.Time
}

// dueBatch is how many recordings DueStream hands over at a time.
const dueBatch = 1024

// DueStream reads the recordings q asks for, in one read transaction, in
// two parts, and stops with ctx's error when ctx ends: a plan nobody waits
// for any more.
// local gets, whole, the part a plan decides as a whole, bounded by what
// staging holds, not by the catalog: the held expiring recordings and the
// archived local copies q's eviction bounds select, each with the other
// recordings of its blob; and Newest. rest then gets the others, which for
// a plan months ahead are most of the catalog, a batch at a time: first
// the verified and archived recordings, not held, whose retention may have
// ended (in start order), then the expiring ones marked by ExpiringBy,
// not held (in mark order), each a recording whose retention decision
// depends on it alone. rest must not keep its batch.
func (c *Catalog) DueStream(ctx context.Context, q DueQuery, local func(Due) error, rest func(batch []Recording) error) error {
	err := c.db.View(func(tx *bolt.Tx) error {
		d, err := dueLocal(ctx, tx, q)
		if err != nil {
			return err
		}
		if err := local(d); err != nil {
			return err
		}
		s := &dueStream{dueSet: dueSet{ctx: ctx, tx: tx}, fn: rest, batch: make([]Recording, 0, dueBatch)}
		s.sink = s
		if err := s.retained(q); err != nil {
			return err
		}
		if err := s.graceEnded(q.ExpiringBy); err != nil {
			return err
		}
		return s.flush()
	})
	if err != nil {
		return fmt.Errorf("read due recordings: %w", err)
	}
	return nil
}

// dueLocal reads in tx DueStream's local part.
func dueLocal(ctx context.Context, tx *bolt.Tx, q DueQuery) (Due, error) {
	found := dueSet{ctx: ctx, tx: tx, recs: map[uint64]*Recording{}}
	if err := found.heldExpiring(); err != nil {
		return Due{}, err
	}
	if err := found.evictable(q.ArchivedBy, q.FreeBytes); err != nil {
		return Due{}, err
	}
	recs, err := found.sorted()
	return Due{Recordings: recs, Newest: newest(tx)}, err
}

// dueStream hands what dueSet's readers find to fn in batches, holding no
// more than one.
type dueStream struct {
	dueSet
	fn    func([]Recording) error
	batch []Recording
}

func (s *dueStream) flush() error {
	if len(s.batch) == 0 {
		return nil
	}
	err := s.fn(s.batch)
	s.batch = s.batch[:0]
	return err
}

// dueSet collects the recordings of a Due, each read once; with a sink
// (dueStream) it hands them on instead of keeping them.
type dueSet struct {
	ctx   context.Context
	tx    *bolt.Tx
	recs  map[uint64]*Recording
	steps int
	sink  *dueStream
}

// step counts an index entry looked at, and reports ctx's error at the
// first and every checkEvery after.
func (s *dueSet) step() error {
	if s.steps++; s.steps%checkEvery == 1 {
		return s.ctx.Err()
	}
	return nil
}

func (s *dueSet) add(id uint64) (*Recording, error) {
	if r, ok := s.recs[id]; ok {
		return r, nil
	}
	if err := s.step(); err != nil {
		return nil, err
	}
	r, err := getRecording(s.tx, id)
	if err != nil {
		return nil, err
	}
	if s.sink != nil { // each index entry is a recording once: no set
		s.sink.batch = append(s.sink.batch, r)
		if len(s.sink.batch) == cap(s.sink.batch) {
			return nil, s.sink.flush()
		}
		return nil, nil
	}
	s.recs[id] = &r
	return &r, nil
}

// sorted copies the recordings out in id order, each once.
func (s *dueSet) sorted() ([]Recording, error) {
	ids := slices.Sorted(maps.Keys(s.recs))
	out := make([]Recording, 0, len(ids))
	for i, id := range ids {
		if i%checkEvery == 0 && s.ctx.Err() != nil {
			return nil, s.ctx.Err()
		}
		out = append(out, *s.recs[id])
		delete(s.recs, id) // held once, not twice
	}
	return out, nil
}

// retained reads the recordings whose retention may have ended.
func (s *dueSet) retained(q DueQuery) error {
	if q.Expired == nil {
		return nil
	}
	bound := timeKey(q.StartedBy)
	cur := s.tx.Bucket(bucketIdxRetain).Cursor()
	var started, received, until time.Time
	for k, v := cur.First(); k != nil && keyTime(k) <= bound; k, v = cur.Next() {
		if err := s.step(); err != nil {
			return err
		}
		readTimes(v, &started, &received, &until)
		if !q.Expired(started, received, until) {
			continue
		}
		if _, err := s.add(keyID(k)); err != nil {
			return err
		}
	}
	return nil
}

// heldExpiring reads the held expiring recordings.
func (s *dueSet) heldExpiring() error {
	return s.tx.Bucket(bucketIdxUnmark).ForEach(func(k, _ []byte) error {
		_, err := s.add(keyID(k))
		return err
	})
}

// graceEnded reads the expiring recordings not held, marked by markedBy.
func (s *dueSet) graceEnded(markedBy time.Time) error {
	bound := timeKey(markedBy)
	cur := s.tx.Bucket(bucketIdxGrace).Cursor()
	for k, _ := cur.First(); k != nil && keyTime(k) <= bound; k, _ = cur.Next() {
		if _, err := s.add(keyID(k)); err != nil {
			return err
		}
	}
	return nil
}

// evictable reads archived local copies oldest archive first: all archived
// by archivedBy, then on while the unshared ones read come to less than
// free bytes. A blob's other recordings are read with it: while any of them
// needs the blob it stays, so it frees nothing for certain.
func (s *dueSet) evictable(archivedBy time.Time, free int64) error {
	bound := timeKey(archivedBy)
	var freed int64
	cur := s.tx.Bucket(bucketIdxEvict).Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		if keyTime(k) > bound && freed >= free {
			return nil
		}
		r, err := s.add(keyID(k))
		if err != nil {
			return err
		}
		shared, err := s.addSharing(r)
		if err != nil {
			return err
		}
		if !shared {
			freed += r.Size
		}
	}
	return nil
}

// addSharing reads every other recording of r's blob and reports whether
// there is one.
func (s *dueSet) addSharing(r *Recording) (bool, error) {
	prefix := join([]byte(r.SHA256), sep)
	shared := false
	cur := s.tx.Bucket(bucketIdxSHA).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		id := binary.BigEndian.Uint64(k[len(prefix):])
		if id == r.ID {
			continue
		}
		shared = true
		if _, err := s.add(id); err != nil {
			return false, err
		}
	}
	return shared, nil
}

// LegalHoldPending returns the archived and expiring recordings whose legal
// hold in the archive is not yet what their holds ask for.
func (c *Catalog) LegalHoldPending() ([]Recording, error) {
	var out []Recording
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIdxLegal).ForEach(func(k, _ []byte) error {
			r, err := getRecording(tx, keyID(k))
			out = append(out, r)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read pending legal holds: %w", err)
	}
	return out, nil
}
