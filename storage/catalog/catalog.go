package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrNotFound is returned when a recording does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned when another process holds the catalog open.
var ErrLocked = errors.New("catalog is in use by another process")

// Catalog is the station's record of every recording and every custody event.
// It is a bbolt file; each change is one short write transaction that updates
// the record, its indexes, the per-state counts and the event chain together.
type Catalog struct {
	db *bolt.DB
	// caseIndexed: idx_case is complete (keyCaseIndexed); until then a
	// case listing reads every record.
	caseIndexed bool
	now         func() time.Time
	group       group // concurrent writes share a transaction: see group.go
}

// mapReserve is the address space the catalog file is mapped with, far
// beyond its size (256 GiB, over 150 million recordings; address space only,
// no memory). bbolt must re-map a file that outgrows its map, and for that
// waits for every read transaction to end, with every new one queued
// behind: a long audit verify or plan would stall ingest and the admin
// API. A catalog larger still re-maps as before.
const mapReserve = min(1<<38, math.MaxInt>>2)

// Options are the knobs of Open.
type Options struct {
	ReadOnly bool
	Now      func() time.Time
	// Timeout for the file lock; bbolt waits forever without one.
	Timeout time.Duration
	// NoSync skips fsync on commit: for building test and benchmark
	// catalogs only, never for custody records.
	NoSync bool
}

// Open opens or creates the catalog at path.
func Open(path string, o Options) (*Catalog, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("open catalog: %w", err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	db, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: o.Timeout, ReadOnly: o.ReadOnly, NoSync: o.NoSync,
		InitialMmapSize: mapReserve})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open catalog %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	c := &Catalog{db: db, now: o.Now}
	if o.ReadOnly {
		err = db.View(checkReadable)
	} else if err = update(db, c.initSchema); err == nil {
		err = upgrade(db, upgradeBatch)
	}
	if err == nil {
		err = db.View(func(tx *bolt.Tx) error {
			c.caseIndexed = tx.Bucket(bucketMeta).Get(keyCaseIndexed) != nil
			return nil
		})
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	return c, nil
}

// Close closes the catalog file.
func (c *Catalog) Close() error { return c.db.Close() }

// Now is the catalog's clock: the time its records and events are stamped with.
func (c *Catalog) Now() time.Time { return c.now() }

// Add records a new recording with its custody events. If a record with the
// same device, name and hash exists, Add returns it with created=false and
// writes nothing: a file seen again is not ingested twice. Adds made at the
// same time (a dock's copy workers) are committed together, in one
// transaction and one fsync; each is durable when its Add returns.
func (c *Catalog) Add(r Recording, events ...Event) (rec Recording, created bool, err error) {
	err = c.write(func(tx *bolt.Tx) error {
		rec, created, err = c.add(tx, r, events)
		return err
	})
	if err != nil {
		return Recording{}, false, fmt.Errorf("add recording %s: %w", r.SHA256, err)
	}
	return rec, created, nil
}

// AddBatch is Add for many recordings in one transaction, each new one with
// its own copy of events: for bulk loads such as benchmark catalogs, where a
// transaction per record would take most of an hour at ten million. It is
// all or nothing and returns how many were new.
func (c *Catalog) AddBatch(recs []Recording, events ...Event) (added int, err error) {
	err = update(c.db, func(tx *bolt.Tx) error {
		added = 0
		for _, r := range recs {
			_, created, err := c.add(tx, r, events)
			if err != nil {
				return fmt.Errorf("add recording %s: %w", r.SHA256, err)
			}
			if created {
				added++
			}
		}
		return nil
	})
	return added, err
}

// Entry is one recording of AddEntries with its own custody events.
type Entry struct {
	Recording Recording
	Events    []Event
}

// AddEntries is AddBatch where each recording brings its own events: bulk
// loads of a catalog's history (benchmarks, migrations). It is all or
// nothing, returns how many were new and leaves each entry's Recording as
// stored (its ID set).
func (c *Catalog) AddEntries(entries []Entry) (added int, err error) {
	err = update(c.db, func(tx *bolt.Tx) error {
		added = 0
		for i, e := range entries {
			rec, created, err := c.add(tx, e.Recording, e.Events)
			if err != nil {
				return fmt.Errorf("add recording %s: %w", e.Recording.SHA256, err)
			}
			entries[i].Recording = rec
			if created {
				added++
			}
		}
		return nil
	})
	return added, err
}

func (c *Catalog) add(tx *bolt.Tx, r Recording, events []Event) (Recording, bool, error) {
	if !r.State.Valid() {
		return Recording{}, false, fmt.Errorf("invalid state %q", r.State)
	}
	if v := tx.Bucket(bucketIdxContent).Get(contentKey(r.Device, r.OriginalName(), r.SHA256)); v != nil {
		existing, err := getRecording(tx, binary.BigEndian.Uint64(v))
		return existing, false, err
	}
	id, err := tx.Bucket(bucketRecordings).NextSequence()
	if err != nil {
		return Recording{}, false, err
	}
	r.ID = id
	r.UpdatedAt = c.now().UTC()
	if err := putRecording(tx, &r); err != nil {
		return Recording{}, false, err
	}
	if err := reindex(tx, nil, &r); err != nil {
		return Recording{}, false, err
	}
	if err := bumpCount(tx, r.State, +1); err != nil {
		return Recording{}, false, err
	}
	if r.Permanent() {
		if err := bumpCount(tx, countHeld, +1); err != nil {
			return Recording{}, false, err
		}
	}
	if err := c.appendEvents(tx, &r, events); err != nil {
		return Recording{}, false, err
	}
	return r, true, nil
}

// Update loads recording id, lets fn change it, checks the state transition
// and stores it with its events in one transaction. If fn returns an error
// nothing is written.
func (c *Catalog) Update(id uint64, fn func(*Recording) error, events ...Event) (Recording, error) {
	var out Recording
	err := update(c.db, func(tx *bolt.Tx) error {
		old, r, err := c.change(tx, id, fn)
		if err != nil {
			return err
		}
		out = r
		return c.store(tx, old, &out, events)
	})
	if err != nil {
		return Recording{}, fmt.Errorf("update recording %d: %w", id, err)
	}
	return out, nil
}

// Change is one recording's part of UpdateMany: Fn changes the record and
// returns the custody events to append with it.
type Change struct {
	ID uint64
	Fn func(*Recording) ([]Event, error)
}

// UpdateMany is Update for many recordings in one transaction and one
// fsync, shared with concurrent Adds: a dock records a burst of releases at
// once. Each Fn may run twice (see group.go). A change whose record
// is missing, whose Fn fails or whose state move is not allowed is skipped,
// with its error at its index in errs; the others are stored. err is a
// failure of the transaction itself: then nothing was stored.
func (c *Catalog) UpdateMany(changes []Change) (errs []error, err error) {
	err = c.write(func(tx *bolt.Tx) error {
		errs = make([]error, len(changes))
		for i, ch := range changes {
			var events []Event
			old, r, err := c.change(tx, ch.ID, func(r *Recording) (err error) {
				events, err = ch.Fn(r)
				return err
			})
			if err != nil {
				errs[i] = fmt.Errorf("update recording %d: %w", ch.ID, err)
				continue
			}
			if err := c.store(tx, old, &r, events); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update recordings: %w", err)
	}
	return errs, nil
}

// change loads recording id and lets fn change a copy of it, checking the
// state transition; nothing is written.
func (c *Catalog) change(tx *bolt.Tx, id uint64, fn func(*Recording) error) (old, r Recording, err error) {
	old, err = getRecording(tx, id)
	if err != nil {
		return old, r, err
	}
	r = old
	// fn gets its own slices: old must stay as stored.
	r.Flags = append([]string(nil), old.Flags...)
	r.Holds = append([]Hold(nil), old.Holds...)
	r.Cases = append([]string(nil), old.Cases...)
	if err := fn(&r); err != nil {
		return old, r, err
	}
	r.ID = id
	if r.SHA256 != old.SHA256 {
		// Content is identity, and events take their sha256 from the record.
		return old, r, fmt.Errorf("recording %d: sha256 is its identity and never changes", id)
	}
	if r.State != old.State && !old.State.CanMove(r.State) {
		return old, r, &StateError{ID: id, From: old.State, To: r.State}
	}
	return old, r, nil
}

// store writes a changed recording, its indexes, counts and events.
func (c *Catalog) store(tx *bolt.Tx, old Recording, r *Recording, events []Event) error {
	id := r.ID
	r.UpdatedAt = c.now().UTC()
	if err := reindex(tx, &old, r); err != nil {
		return err
	}
	if r.State != old.State {
		if err := bumpCount(tx, old.State, -1); err != nil {
			return err
		}
		if err := bumpCount(tx, r.State, +1); err != nil {
			return err
		}
	}
	if old.Permanent() != r.Permanent() {
		delta := -1
		if r.Permanent() {
			delta = +1
		}
		if err := bumpCount(tx, countHeld, delta); err != nil {
			return err
		}
	}
	if err := putRecording(tx, r); err != nil {
		return err
	}
	if r.State == StateArchived {
		if err := tx.Bucket(bucketUploads).Delete(u64(id)); err != nil {
			return err
		}
	}
	return c.appendEvents(tx, r, events)
}

// Get returns recording id or ErrNotFound.
func (c *Catalog) Get(id uint64) (Recording, error) {
	var r Recording
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = getRecording(tx, id)
		return err
	})
	if err != nil {
		return Recording{}, fmt.Errorf("get recording %d: %w", id, err)
	}
	return r, nil
}

// FindQuick returns the recording last ingested from a file with this device,
// name, size and modification time; the caller still proves identity by hash
// before acting on it.
func (c *Catalog) FindQuick(device, name string, size int64, mtime time.Time) (Recording, bool, error) {
	return c.findBy(bucketIdxQuick, quickKey(device, name, size, mtime))
}

// FindContent returns the recording with this device, name and hash.
func (c *Catalog) FindContent(device, name, sha string) (Recording, bool, error) {
	return c.findBy(bucketIdxContent, contentKey(device, name, sha))
}

func (c *Catalog) findBy(bucket, key []byte) (Recording, bool, error) {
	var r Recording
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get(key)
		if v == nil {
			return nil
		}
		var err error
		r, err = getRecording(tx, binary.BigEndian.Uint64(v))
		found = err == nil
		return err
	})
	if err != nil {
		return Recording{}, false, fmt.Errorf("find recording: %w", err)
	}
	return r, found, nil
}

// BySHA returns every recording whose content has this hash.
func (c *Catalog) BySHA(sha string) ([]Recording, error) {
	var out []Recording
	err := c.db.View(func(tx *bolt.Tx) error {
		prefix := join([]byte(sha), sep)
		cur := tx.Bucket(bucketIdxSHA).Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			r, err := getRecording(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find sha %s: %w", sha, err)
	}
	return out, nil
}

// PendingReleases returns the recordings of a source whose deletion from the
// camera was started but not recorded as done.
func (c *Catalog) PendingReleases(sourceID string) ([]Recording, error) {
	var out []Recording
	err := c.db.View(func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketIdxPending), join([]byte(sourceID), sep), func(id uint64) (bool, error) {
			r, err := getRecording(tx, id)
			out = append(out, r)
			return true, err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("pending releases of %s: %w", sourceID, err)
	}
	return out, nil
}

// Intents lists the recordings with a retention step under way: after a
// crash, what start-up must resume.
func (c *Catalog) Intents() ([]Recording, error) {
	var out []Recording
	err := c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdxIntent)
		if b == nil {
			return nil // a read-only open of a catalog from before intents
		}
		return scanPrefix(b, nil, func(id uint64) (bool, error) {
			r, err := getRecording(tx, id)
			out = append(out, r)
			return true, err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("retention steps under way: %w", err)
	}
	return out, nil
}

// Counts returns how many recordings are in each state.
func (c *Catalog) Counts() (map[State]int, error) {
	out := make(map[State]int, len(States))
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCounts).ForEach(func(k, v []byte) error {
			if State(k) != countHeld {
				out[State(k)] = int(binary.BigEndian.Uint64(v))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("count recordings: %w", err)
	}
	return out, nil
}

// Held returns how many recordings are in the permanent class.
func (c *Catalog) Held() (int, error) {
	var n int
	err := c.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketCounts).Get([]byte(countHeld)); v != nil {
			n = int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count held recordings: %w", err)
	}
	return n, nil
}

func getRecording(tx *bolt.Tx, id uint64) (Recording, error) {
	v := tx.Bucket(bucketRecordings).Get(u64(id))
	if v == nil {
		return Recording{}, ErrNotFound
	}
	r, err := decodeRecording(v)
	if err != nil {
		return Recording{}, fmt.Errorf("decode recording %d: %w", id, err)
	}
	return r, nil
}

func putRecording(tx *bolt.Tx, r *Recording) error {
	v, err := encodeRecording(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRecordings).Put(u64(r.ID), v)
}

func bumpCount(tx *bolt.Tx, s State, delta int) error {
	b := tx.Bucket(bucketCounts)
	var n uint64
	if v := b.Get([]byte(s)); v != nil {
		n = binary.BigEndian.Uint64(v)
	}
	if delta < 0 && n == 0 {
		return fmt.Errorf("count of %s would go below zero", s)
	}
	n = uint64(int64(n) + int64(delta))
	return b.Put([]byte(s), u64(n))
}

// OriginalName is the file name exactly as the device gave it.
func (r *Recording) OriginalName() string {
	if len(r.NameRaw) > 0 {
		return string(r.NameRaw)
	}
	return r.Name
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
