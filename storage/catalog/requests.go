package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Kinds of request that take two people: one asks, a different one approves.
const (
	RequestRelease = "release" // remove a permanent-class hold reason
	RequestRestore = "restore" // undo stage one of expiry
	RequestExport  = "export"  // hand a case's recordings out of the station
)

// States of a request. A pending request past its Expires is shown as
// RequestExpired and can no longer be approved.
const (
	RequestPending   = "pending"
	RequestApproved  = "approved"
	RequestRejected  = "rejected"  // refused by another supervisor
	RequestCancelled = "cancelled" // withdrawn by the one who asked
	RequestExpired   = "expired"
	RequestUsed      = "used" // an approved export that was carried out
)

// Custody events of a request, on every recording it names (an export's
// on the station's trail).
const (
	EventRequested    = "requested"     // a release, restore or export was asked for
	EventApproved     = "approved"      // a second supervisor approved it
	EventRejected     = "rejected"      // rejected or withdrawn
	EventApprovalUsed = "approval-used" // an approved export was carried out
)

// Errors of deciding a request.
var (
	ErrNotPending     = errors.New("request is no longer pending")
	ErrRequestExpired = errors.New("request expired before it was approved")
	ErrSelfApproval   = errors.New("the supervisor who asked cannot approve their own request")
)

// Target is one recording a request acts on, and what it found there when
// asked: for a release the time the named hold was attached, for a restore
// the time the recording was marked expiring. The approval acts only if
// the same hold or the same expiry is still there.
type Target struct {
	Recording uint64    `json:"recording"`
	Since     time.Time `json:"since"`
}

// Request is a decision that takes two people.
type Request struct {
	ID      uint64    `json:"id"`
	Kind    string    `json:"kind"`
	Targets []Target  `json:"targets,omitempty"`
	Reason  string    `json:"reason,omitempty"` // release: the hold's reason
	Case    string    `json:"case,omitempty"`   // release: the hold's case, if named; export: the case
	By      string    `json:"by"`
	Why     string    `json:"why"`
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires"`
	State   string    `json:"state"`

	DecidedBy  string    `json:"decided_by,omitempty"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`
	DecidedWhy string    `json:"decided_why,omitempty"`
	UsedBy     string    `json:"used_by,omitempty"`
	UsedAt     time.Time `json:"used_at,omitzero"`
}

// StateAt is the request's state at now: a pending request past its
// expiry is expired.
func (q Request) StateAt(now time.Time) string {
	if q.State == RequestPending && !now.Before(q.Expires) {
		return RequestExpired
	}
	return q.State
}

// Open reports whether the request may still be approved at now.
func (q Request) Open(now time.Time) bool { return q.StateAt(now) == RequestPending }

// describe is the request in a custody event's detail.
func (q Request) describe() string {
	d := fmt.Sprintf("request %d: %s", q.ID, q.Kind)
	if q.Reason != "" {
		d += " of reason " + q.Reason
	}
	if q.Case != "" {
		d += " (case " + q.Case + ")"
	}
	return d
}

// AddRequest records a new pending request with a requested event on each
// recording it names. check runs inside the same transaction on each of
// q's recordings (Targets[i].Recording) and returns what the request acts
// on there; an error stores nothing.
func (c *Catalog) AddRequest(q Request, check func(Recording) (since time.Time, err error)) (Request, error) {
	switch q.Kind {
	case RequestRelease, RequestRestore:
		if len(q.Targets) == 0 {
			return Request{}, fmt.Errorf("a %s request names at least one recording", q.Kind)
		}
	case RequestExport:
		if q.Case == "" || len(q.Targets) > 0 {
			return Request{}, errors.New("an export request names a case and no recordings")
		}
	default:
		return Request{}, fmt.Errorf("unknown request kind %q", q.Kind)
	}
	q.State, q.At = RequestPending, q.At.UTC()
	err := c.db.Update(func(tx *bolt.Tx) error {
		id, err := tx.Bucket(bucketRequests).NextSequence()
		if err != nil {
			return err
		}
		q.ID = id
		q.Targets = append([]Target(nil), q.Targets...)
		ev := Event{Type: EventRequested, Actor: q.By,
			Detail: fmt.Sprintf("%s: %s; approve by %s", q.describe(), q.Why, q.Expires.UTC().Format(time.RFC3339))}
		for i, t := range q.Targets {
			r, err := getRecording(tx, t.Recording)
			if err != nil {
				return fmt.Errorf("recording %d: %w", t.Recording, err)
			}
			if q.Targets[i].Since, err = check(r); err != nil {
				return fmt.Errorf("recording %d: %w", t.Recording, err)
			}
			if err := c.appendEvents(tx, &r, []Event{ev}); err != nil {
				return err
			}
		}
		if len(q.Targets) == 0 {
			if err := c.appendEvents(tx, nil, []Event{ev}); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketIdxReqOpen).Put(u64(id), nil); err != nil {
			return err
		}
		return putRequest(tx, &q)
	})
	if err != nil {
		return Request{}, fmt.Errorf("add %s request: %w", q.Kind, err)
	}
	return q, nil
}

// Request returns request id or ErrNotFound.
func (c *Catalog) Request(id uint64) (Request, error) {
	var q Request
	err := c.db.View(func(tx *bolt.Tx) (err error) {
		q, err = getRequest(tx, id)
		return err
	})
	if err != nil {
		return Request{}, fmt.Errorf("get request %d: %w", id, err)
	}
	return q, nil
}

// OpenRequests lists the requests not yet decided, oldest first; those
// past their expiry among them, too (StateAt tells).
func (c *Catalog) OpenRequests() ([]Request, error) {
	var out []Request
	err := c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdxReqOpen)
		if b == nil {
			return nil // a read-only open of a catalog from before requests
		}
		return scanPrefix(b, nil, func(id uint64) (bool, error) {
			q, err := getRequest(tx, id)
			out = append(out, q)
			return true, err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("open requests: %w", err)
	}
	return out, nil
}

func getRequest(tx *bolt.Tx, id uint64) (Request, error) {
	b := tx.Bucket(bucketRequests)
	var v []byte
	if b != nil {
		v = b.Get(u64(id))
	}
	if v == nil {
		return Request{}, ErrNotFound
	}
	var q Request
	if err := json.Unmarshal(v, &q); err != nil {
		return Request{}, fmt.Errorf("decode request %d: %w", id, err)
	}
	return q, nil
}

func putRequest(tx *bolt.Tx, q *Request) error {
	v, err := json.Marshal(q)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRequests).Put(u64(q.ID), v)
}
