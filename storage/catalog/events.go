package catalog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Custody event types. Each custody step of a recording is one event.
const (
	EventIngested = "ingested" // a verified copy is in staging and recorded (rooms: sealed, then verified)
	EventVerified = "verified" // a staged room segment was re-read and its hash matched
	EventReleased = "released" // the source was deleted from the camera
	EventMissing  = "missing"  // the staged copy was not found
	EventCorrupt  = "corrupt"  // a re-verification failed
	EventRestaged = "restaged" // a fresh verified copy replaced a missing or corrupt one
	EventHeld     = "held"     // a reason for the permanent class was attached
	EventUnheld   = "unheld"   // a reason was removed by a recorded decision
	EventLinked   = "linked"   // linked to a case
	EventEvicted  = "evicted"  // local copy removed; the archive holds a verified one
	EventExpiring = "expiring" // stage one of expiry: marked deleted, restorable
	EventRestored = "restored" // stage one undone
	EventExpired  = "expired"  // deleted by the retention rule
	EventConfig   = "config"   // a configuration change that touches retention
	EventArchived = "archived" // the archive holds the object, proven and locked
	// EventUploadFailed records a permanent upload failure (auth, bucket,
	// integrity), once per distinct failure; transient ones are only counted.
	EventUploadFailed = "upload-failed"
	// EventClockOffset records a camera's clock offset measured at a
	// docking: dock, slot, device, offset and its basis.
	EventClockOffset = "clock-offset"
	// EventMigrated records a change of the catalog's own format (a schema
	// upgrade, a compaction): what changed and what was checked after.
	EventMigrated = "migrated"
)

// ActorCustodian is the actor of events custodian records on its own.
const ActorCustodian = "custodian"

// Event is one entry of the custody trail. Hash covers every other field,
// Prev included, so the trail is a chain: changing, dropping or reordering
// an entry breaks every hash after it.
type Event struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Recording uint64    `json:"recording,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
	Actor     string    `json:"actor"`
	Detail    string    `json:"detail,omitempty"`
	Prev      string    `json:"prev"`
	Hash      string    `json:"hash"`
}

// Sum is the hash of the event with Hash empty: what Hash must hold, chained
// to the event before through Prev.
func (e Event) Sum() string {
	e.Hash = ""
	b, _ := json.Marshal(e) // a struct of plain fields always marshals
	return hashHex(b)
}

func (c *Catalog) appendEvents(tx *bolt.Tx, r *Recording, events []Event) error {
	b := tx.Bucket(bucketEvents)
	meta := tx.Bucket(bucketMeta)
	prev := string(meta.Get(keyLastEventHash))
	var recSHA string
	if r != nil {
		recSHA = r.SHA256
	}
	for _, e := range events {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
		if e.Time.IsZero() {
			e.Time = c.now().UTC()
		}
		if r != nil {
			e.Recording = r.ID
			e.SHA256 = r.SHA256
		}
		if e.Actor == "" {
			e.Actor = ActorCustodian
		}
		e.Prev = prev
		e.Hash = e.Sum()
		v, err := encodeEvent(e, recSHA)
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), v); err != nil {
			return err
		}
		prev = e.Hash
	}
	return meta.Put(keyLastEventHash, []byte(prev))
}

// Append records events that belong to no single recording update.
func (c *Catalog) Append(events ...Event) error {
	err := update(c.db, func(tx *bolt.Tx) error { return c.appendEvents(tx, nil, events) })
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	return nil
}

// RecentEvents returns up to n of the newest events, newest first.
func (c *Catalog) RecentEvents(n int) ([]Event, error) {
	var out []Event
	err := c.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketEvents).Cursor()
		for k, _ := cur.Last(); k != nil && len(out) < n; k, _ = cur.Prev() {
			e, err := getEvent(tx, binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// ErrChainBroken is wrapped by ChainError.
var ErrChainBroken = errors.New("custody trail broken")

// ChainError names the first event where the trail does not hold.
type ChainError struct {
	Seq    uint64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("custody trail broken at event %d: %s", e.Seq, e.Reason)
}
func (e *ChainError) Unwrap() error { return ErrChainBroken }

// VerifyEvents walks the whole trail and returns how many events it checked,
// or a *ChainError naming the first bad one.
func (c *Catalog) VerifyEvents() (int, error) { return c.VerifyEventsContext(context.Background()) }

// VerifyEventsContext is VerifyEvents, stopped when ctx ends.
func (c *Catalog) VerifyEventsContext(ctx context.Context) (int, error) {
	n := 0
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		_, n, err = walkTrail(ctx, tx, walkChain, nil)
		return err
	})
	return n, err
}
