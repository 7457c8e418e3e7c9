package catalog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrSessionOpen is returned when a room already has an open interview session.
var ErrSessionOpen = errors.New("room already has an open interview session")

// ErrNoSession is returned when a room has no open interview session to stop.
var ErrNoSession = errors.New("room has no open interview session")

// Custody events of interview sessions.
const (
	EventSessionStarted = "session_started"
	EventSessionStopped = "session_stopped"
)

// HoldEvidence is the permanent-class reason of footage used as evidence,
// which an interview's footage is from the start.
const HoldEvidence = "evidence"

// Session is one interview in a room: the span of time whose segments belong
// to a case and the person questioned. EndedAt is zero while it is open.
type Session struct {
	ID        uint64    `json:"id"`
	Room      string    `json:"room"`
	Case      string    `json:"case"`
	Subject   string    `json:"subject"`
	Officers  []string  `json:"officers"`
	Note      string    `json:"note,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// StartedBy and StoppedBy are who opened and closed it, for the trail.
	StartedBy string `json:"started_by,omitempty"`
	StoppedBy string `json:"stopped_by,omitempty"`
}

// Open reports whether the session has not been stopped.
func (s Session) Open() bool { return s.EndedAt.IsZero() }

// Overlaps reports whether the session covers any instant of [from, to).
func (s Session) Overlaps(from, to time.Time) bool {
	return s.StartedAt.Before(to) && (s.Open() || s.EndedAt.After(from))
}

func (s Session) describe() string {
	return fmt.Sprintf("room %s case %s subject %s officers %s", s.Room, s.Case, s.Subject, strings.Join(s.Officers, ","))
}

// StartSession opens a session in its room, or returns ErrSessionOpen.
func (c *Catalog) StartSession(s Session) (Session, error) {
	if s.Room == "" || s.Case == "" || s.Subject == "" || len(s.Officers) == 0 {
		return Session{}, errors.New("start session: room, case, subject and an officer are required")
	}
	if s.StartedAt.IsZero() {
		s.StartedAt = c.now()
	}
	s.StartedAt, s.EndedAt = s.StartedAt.UTC(), time.Time{}
	err := update(c.db, func(tx *bolt.Tx) error {
		open := tx.Bucket(bucketOpenSess)
		if open.Get([]byte(s.Room)) != nil {
			return ErrSessionOpen
		}
		b := tx.Bucket(bucketSessions)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		s.ID = id
		if err := putSession(tx, s); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIdxSession).Put(prefixTimeKey(s.Room, s.StartedAt, id), []byte{}); err != nil {
			return err
		}
		if err := open.Put([]byte(s.Room), u64(id)); err != nil {
			return err
		}
		return c.appendEvents(tx, nil, []Event{{Type: EventSessionStarted, Actor: s.StartedBy, Detail: fmt.Sprintf("session %d: %s", id, s.describe())}})
	})
	if err != nil {
		return Session{}, fmt.Errorf("start session in room %s: %w", s.Room, err)
	}
	return s, nil
}

// StopSession closes the open session of room at the given time (now if
// zero), in the name of by.
func (c *Catalog) StopSession(room string, at time.Time, by string) (Session, error) {
	if at.IsZero() {
		at = c.now()
	}
	var s Session
	err := update(c.db, func(tx *bolt.Tx) error {
		open := tx.Bucket(bucketOpenSess)
		v := open.Get([]byte(room))
		if v == nil {
			return ErrNoSession
		}
		var err error
		if s, err = getSession(tx, binary.BigEndian.Uint64(v)); err != nil {
			return err
		}
		s.EndedAt, s.StoppedBy = at.UTC(), by
		if s.EndedAt.Before(s.StartedAt) {
			s.EndedAt = s.StartedAt // a clock stepped back; never a negative span
		}
		if err := putSession(tx, s); err != nil {
			return err
		}
		if err := open.Delete([]byte(room)); err != nil {
			return err
		}
		return c.appendEvents(tx, nil, []Event{{Type: EventSessionStopped, Actor: by, Detail: fmt.Sprintf("session %d: %s", s.ID, s.describe())}})
	})
	if err != nil {
		return Session{}, fmt.Errorf("stop session in room %s: %w", room, err)
	}
	return s, nil
}

// Sessions returns the sessions of room that overlap [from, to), oldest
// first. Zero times leave that side open.
func (c *Catalog) Sessions(room string, from, to time.Time) ([]Session, error) {
	var out []Session
	err := c.db.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketIdxSession)
		if idx == nil {
			return nil // a catalog written before rooms existed, opened read-only
		}
		prefix := join([]byte(room), sep)
		end := to
		if end.IsZero() {
			end = time.Unix(0, 1<<62)
		}
		cur := idx.Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			if len(k) != len(prefix)+16 {
				continue
			}
			s, err := getSession(tx, binary.BigEndian.Uint64(k[len(prefix)+8:]))
			if err != nil {
				return err
			}
			if !s.StartedAt.Before(end) {
				break
			}
			if s.Overlaps(from, end) {
				out = append(out, s)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions of room %s: %w", room, err)
	}
	return out, nil
}

// OpenSession returns the open session of room, if any.
func (c *Catalog) OpenSession(room string) (Session, bool, error) {
	var s Session
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		open := tx.Bucket(bucketOpenSess)
		if open == nil {
			return nil
		}
		v := open.Get([]byte(room))
		if v == nil {
			return nil
		}
		var err error
		s, err = getSession(tx, binary.BigEndian.Uint64(v))
		found = err == nil
		return err
	})
	if err != nil {
		return Session{}, false, fmt.Errorf("open session of room %s: %w", room, err)
	}
	return s, found, nil
}

// LinkSessions fills r's case fields from the sessions that overlap its span
// [r.StartedAt, until): until is r.EndedAt, or earlier when the segment was
// cut at a session's start or stop and what follows is the next segment's. Each session's case puts the segment in the
// permanent class as evidence, with the archive's legal hold asked for at
// upload. Case and Subject name the first session; Cases every case.
func LinkSessions(r *Recording, sessions []Session, until time.Time) {
	for _, s := range sessions {
		if !s.Overlaps(r.StartedAt, until) {
			continue
		}
		if r.Case == "" {
			r.Case, r.Subject = s.Case, s.Subject
		}
		r.Cases = appendOnce(r.Cases, s.Case)
		for _, o := range s.Officers {
			r.Officers = appendOnce(r.Officers, o)
		}
		r.Sessions = append(r.Sessions, s.ID)
		r.Holds = append(r.Holds, Hold{Reason: HoldEvidence, By: ActorCustodian, At: s.StartedAt, Case: s.Case,
			Why: fmt.Sprintf("interview session %d in room %s, subject %s", s.ID, s.Room, s.Subject)})
		r.LegalHold = true
	}
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func getSession(tx *bolt.Tx, id uint64) (Session, error) {
	v := tx.Bucket(bucketSessions).Get(u64(id))
	if v == nil {
		return Session{}, fmt.Errorf("session %d: %w", id, ErrNotFound)
	}
	var s Session
	if err := json.Unmarshal(v, &s); err != nil {
		return Session{}, fmt.Errorf("decode session %d: %w", id, err)
	}
	return s, nil
}

func putSession(tx *bolt.Tx, s Session) error {
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSessions).Put(u64(s.ID), v)
}
