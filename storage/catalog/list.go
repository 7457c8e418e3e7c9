package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
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
	// Flag selects the recordings that carry it (one of Flags).
	Flag string
	// Session selects an interview session's segments, in start order.
	Session  uint64
	From, To time.Time
	// After resumes a listing after the last recording of the page that
	// returned it; nil starts at the beginning.
	After Cursor
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
		f.Flag != "" && !r.HasFlag(f.Flag),
		f.Session != 0 && !slices.Contains(r.Sessions, f.Session),
		!f.From.IsZero() && r.StartedAt.Before(f.From),
		!f.To.IsZero() && !r.StartedAt.Before(f.To):
		return false
	}
	return true
}

// Cursor is where a listing stopped: which index it reads and the key of
// the last recording it returned there. Callers hand it back as they got it.
type Cursor []byte

// ErrBadCursor: a cursor that no listing by the filter's index returned.
var ErrBadCursor = errors.New("cursor does not belong to this listing")

// List returns the recordings that match f, using the narrowest index.
// Results from a time index come in start-time order, others in id order.
func (c *Catalog) List(f Filter) ([]Recording, error) {
	return c.ListContext(context.Background(), f)
}

// ListContext is List, stopped when ctx ends.
func (c *Catalog) ListContext(ctx context.Context, f Filter) ([]Recording, error) {
	recs, _, err := c.ListPageContext(ctx, f)
	return recs, err
}

// ListPage returns up to f.Limit recordings that match f, after f.After,
// and the cursor of the next page: nil when nothing more matches. A page
// is one read transaction that seeks its index to the cursor, so no page
// reads the ones before it again and no transaction is held between
// pages. Filters the index does not cover are applied while reading, and
// reading goes on until the page is full or the index ends.
func (c *Catalog) ListPage(f Filter) ([]Recording, Cursor, error) {
	return c.ListPageContext(context.Background(), f)
}

// ListPageContext is ListPage, stopped when ctx ends: a filter its index
// does not cover (a flag, a case) may read far to fill a page, and no one
// may want the page any more.
func (c *Catalog) ListPageContext(ctx context.Context, f Filter) ([]Recording, Cursor, error) {
	var out []Recording
	var next Cursor
	if f.Session != 0 {
		// A session's segments are its room's: read the room's index.
		err := c.db.View(func(tx *bolt.Tx) error {
			s, err := getSession(tx, f.Session)
			f.Source, f.SourceID = SourceRoom, s.Room
			return err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("list recordings: %w", err)
		}
	}
	ix := f.index()
	if ix.tag == 'c' && !c.caseIndexed {
		ix = listIndex{tag: 'i', bucket: bucketRecordings}
	}
	err := c.db.View(func(tx *bolt.Tx) error {
		var last []byte
		read := 0
		return ix.scan(tx, f.After, func(k []byte) (bool, error) {
			if read++; read%checkEvery == 1 && ctx.Err() != nil {
				return false, ctx.Err()
			}
			r, err := getRecording(tx, keyID(k))
			if err != nil {
				return false, err
			}
			if !f.match(&r) {
				return true, nil
			}
			if f.Limit > 0 && len(out) == f.Limit {
				next = ix.cursor(last) // one more matches: there is a next page
				return false, nil
			}
			out = append(out, r)
			last = k
			return true, nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list recordings: %w", err)
	}
	return out, next, nil
}

// listIndex is the index a listing reads: keys prefix u64(started) u64(id)
// when timed, prefix u64(id) when not. tag names it in a cursor.
type listIndex struct {
	tag      byte
	bucket   []byte
	prefix   []byte
	timed    bool
	from, to time.Time
}

// index picks the narrowest index for f.
func (f Filter) index() listIndex {
	timed := func(tag byte, bucket []byte, name string) listIndex {
		return listIndex{tag: tag, bucket: bucket, prefix: join([]byte(name), sep), timed: true, from: f.From, to: f.To}
	}
	switch {
	case f.Officer != "":
		return timed('o', bucketIdxOfficer, f.Officer)
	case f.Device != "":
		return timed('d', bucketIdxDevice, f.Device)
	case f.Source == SourceRoom && f.SourceID != "":
		return timed('r', bucketIdxRoom, f.SourceID)
	case f.Case != "":
		return listIndex{tag: 'c', bucket: bucketIdxCase, prefix: join([]byte(f.Case), sep)}
	case f.State != "":
		return listIndex{tag: 's', bucket: bucketIdxState, prefix: join([]byte(f.State), sep)}
	case !f.From.IsZero() || !f.To.IsZero():
		return listIndex{tag: 't', bucket: bucketIdxTime, timed: true, from: f.From, to: f.To}
	default:
		return listIndex{tag: 'i', bucket: bucketRecordings}
	}
}

func (ix listIndex) keyLen() int {
	if ix.timed {
		return len(ix.prefix) + 16
	}
	return len(ix.prefix) + 8
}

// cursor is the cursor that resumes after key k.
func (ix listIndex) cursor(k []byte) Cursor { return join([]byte{ix.tag}, k) }

// resume is the key a cursor resumes after; it must be a key of this
// index under this prefix.
func (ix listIndex) resume(c Cursor) ([]byte, error) {
	if len(c) != 1+ix.keyLen() || c[0] != ix.tag || !bytes.HasPrefix(c[1:], ix.prefix) {
		return nil, ErrBadCursor
	}
	return c[1:], nil
}

// scan calls fn with every key of the index in range, in key order,
// starting after the cursor's key when there is one, until fn says stop.
func (ix listIndex) scan(tx *bolt.Tx, after Cursor, fn func(k []byte) (bool, error)) error {
	start := ix.prefix
	if ix.timed {
		start = join(ix.prefix, u64(timeKey(ix.from)))
	}
	var skip []byte
	if after != nil {
		k, err := ix.resume(after)
		if err != nil {
			return err
		}
		if bytes.Compare(k, start) >= 0 {
			start, skip = k, k
		}
	}
	cur := tx.Bucket(ix.bucket).Cursor()
	for k, _ := cur.Seek(start); k != nil && bytes.HasPrefix(k, ix.prefix); k, _ = cur.Next() {
		if len(k) != ix.keyLen() || bytes.Equal(k, skip) {
			continue // a longer name that shares the prefix; the cursor's own entry
		}
		if ix.timed && !ix.to.IsZero() && binary.BigEndian.Uint64(k[len(ix.prefix):]) >= timeKey(ix.to) {
			return nil
		}
		if more, err := fn(k); err != nil || !more {
			return err
		}
	}
	return nil
}
