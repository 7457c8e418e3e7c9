package catalog

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Decision is a supervisor's answer to a request.
type Decision struct {
	By  string
	Why string
	At  time.Time
	// Approve: approve; otherwise reject (or withdraw, when By asked).
	Approve bool
}

// Apply carries out an approved release or restore on one of its
// recordings, inside the approval's transaction: it re-checks that what
// the request names (t.Since) is still there and returns the custody
// events of the change.
type Apply func(r *Recording, q Request, t Target) ([]Event, error)

// Decide approves or rejects request id. Everything happens in one
// transaction: the request must still be pending; an approval must come
// before the expiry and from someone other than the requester, and apply
// must succeed on every recording it names, or nothing is stored. A
// rejection by the requester is a withdrawal (cancelled).
func (c *Catalog) Decide(id uint64, d Decision, apply Apply) (q Request, recs []Recording, err error) {
	err = c.db.Update(func(tx *bolt.Tx) error {
		recs = nil
		if q, err = getRequest(tx, id); err != nil {
			return err
		}
		if q.State != RequestPending {
			return fmt.Errorf("%w: it is %s", ErrNotPending, q.State)
		}
		event := Event{Type: EventRejected, Actor: d.By, Detail: fmt.Sprintf("%s asked by %s: %s", q.describe(), q.By, d.Why)}
		q.State = RequestRejected
		switch {
		case !d.Approve && d.By == q.By:
			q.State = RequestCancelled
		case !d.Approve:
		case !d.At.Before(q.Expires):
			return fmt.Errorf("%w at %s", ErrRequestExpired, q.Expires.UTC().Format(time.RFC3339))
		case d.By == q.By:
			return ErrSelfApproval
		default:
			q.State, event.Type = RequestApproved, EventApproved
		}
		q.DecidedBy, q.DecidedAt, q.DecidedWhy = d.By, d.At.UTC(), d.Why
		if recs, err = c.decideTargets(tx, q, event, apply); err != nil {
			return err
		}
		if q.State == RequestApproved && q.Kind == RequestExport {
			if err := tx.Bucket(bucketIdxExport).Put(exportKey(q.Case, q.ID), nil); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketIdxReqOpen).Delete(u64(q.ID)); err != nil {
			return err
		}
		return putRequest(tx, &q)
	})
	if err != nil {
		return Request{}, nil, fmt.Errorf("decide request %d: %w", id, err)
	}
	return q, recs, nil
}

// decideTargets records the decision on each recording of q and, for an
// approval, applies it there; an export's decision goes on the station's trail.
func (c *Catalog) decideTargets(tx *bolt.Tx, q Request, event Event, apply Apply) ([]Recording, error) {
	if len(q.Targets) == 0 {
		return nil, c.appendEvents(tx, nil, []Event{event})
	}
	var recs []Recording
	for _, t := range q.Targets {
		var events []Event
		old, r, err := c.change(tx, t.Recording, func(r *Recording) (err error) {
			if q.State != RequestApproved {
				return nil
			}
			events, err = apply(r, q, t)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("recording %d: %w", t.Recording, err)
		}
		if err := c.store(tx, old, &r, append([]Event{event}, events...)); err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// ApprovedExport takes the oldest approved, unused export request of case
// caseNo and marks it used by by, in one transaction, with an
// approval-used custody event: each approval allows one export. ok is
// false when the case has none.
func (c *Catalog) ApprovedExport(caseNo, by string) (requestID uint64, approver string, ok bool, err error) {
	err = c.db.Update(func(tx *bolt.Tx) error {
		prefix := join([]byte(caseNo), sep)
		k, _ := tx.Bucket(bucketIdxExport).Cursor().Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return nil
		}
		q, err := getRequest(tx, keyID(k))
		if err != nil {
			return err
		}
		q.State, q.UsedBy, q.UsedAt = RequestUsed, by, c.now().UTC()
		if err := tx.Bucket(bucketIdxExport).Delete(k); err != nil {
			return err
		}
		if err := putRequest(tx, &q); err != nil {
			return err
		}
		ev := Event{Type: EventApprovalUsed, Actor: by,
			Detail: fmt.Sprintf("%s asked by %s, approved by %s", q.describe(), q.By, q.DecidedBy)}
		requestID, approver, ok = q.ID, q.DecidedBy, true
		return c.appendEvents(tx, nil, []Event{ev})
	})
	if err != nil {
		return 0, "", false, fmt.Errorf("approved export of case %s: %w", caseNo, err)
	}
	return requestID, approver, ok, nil
}
