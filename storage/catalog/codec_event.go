package catalog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// eventCodes is the frozen code table of event types (append only).
var eventCodes = []string{
	"ingested", "verified", "released", "missing", "corrupt", "restaged", "held", "unheld", "linked",
	"evicted", "expiring", "restored", "expired", "config", "archived", "upload-failed", "clock-offset",
	"migrated",
}

// An event in formatV1 is
//
//	formatV1, hash (32 bytes), type, time, recording, sha256, actor, sha-at, detail
//
// Seq is its key and Prev the hash of the event before it, so neither is
// stored: the chain they prove is checked by recomputing each hash over
// the key and the previous entry's hash, exactly as over stored ones.
// ActorCustodian is stored as an empty actor. An event's sha256 is, but
// for the odd one, its recording's, which never changes: it is stored as
// a reference (shaRecording) and read from the record. A record edited
// behind the catalog's back then gives its events a hash they were not
// written with, so the trail shows the edit (VerifyEvents) and names it
// (VerifyRecords). sha-at is where the sha256 stood in the detail
// (an archive key names it), +1, or 0; the detail is stored without it.

// shaRecording marks an event sha256 that is its recording's.
const shaRecording = 2

// shaOf is the sha256 of recording id as stored, "" when there is none.
type shaOf func(id uint64) string

// recordSHA reads recording id's sha256 in tx, decoding no more of the
// record than it needs.
func recordSHA(tx *bolt.Tx) shaOf {
	b := tx.Bucket(bucketRecordings)
	return func(id uint64) string {
		v := b.Get(u64(id))
		if len(v) > 0 && v[0] == formatV1 {
			var r Recording
			d := &decoder{b: v[1:]}
			readRecordingHead(d, &r)
			return r.SHA256
		}
		var r struct {
			SHA256 string `json:"sha256"`
		}
		_ = json.Unmarshal(v, &r) // none: the event's hash will not hold
		return r.SHA256
	}
}

// encodeEvent is e's value in the events bucket: formatV1 when it decodes
// (at e.Seq after e.Prev, its recording's sha256 being recSHA) to exactly
// e's JSON, else that JSON.
func encodeEvent(e Event, recSHA string) ([]byte, error) {
	want, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	h, ok := hexHash(e.Hash)
	if !ok {
		return want, nil
	}
	en := &encoder{b: append(make([]byte, 0, 128), formatV1)}
	en.b = append(en.b, h...)
	en.code(e.Type, eventCodes)
	en.time(e.Time)
	en.uvarint(e.Recording)
	if e.Recording != 0 && e.SHA256 != "" && e.SHA256 == recSHA {
		en.byte(shaRecording)
	} else {
		en.hash(e.SHA256)
	}
	actor := e.Actor
	if actor == ActorCustodian {
		actor = ""
	} else if actor == "" {
		return want, nil
	}
	en.str(actor)
	detail := e.Detail
	if i := strings.Index(detail, e.SHA256); e.SHA256 != "" && i >= 0 {
		en.uvarint(uint64(i) + 1)
		detail = detail[:i] + detail[i+len(e.SHA256):]
	} else {
		en.uvarint(0)
	}
	en.str(detail)
	got, err := decodeEvent(e.Seq, en.b, e.Prev, func(uint64) string { return recSHA })
	if err != nil {
		return want, nil //nolint:nilerr // keep JSON
	}
	if b, err := json.Marshal(got); err != nil || !bytes.Equal(b, want) {
		return want, nil //nolint:nilerr // a field the encoding cannot hold: keep JSON
	}
	return en.b, nil
}

// decodeEvent reads an events value of either format; seq is its key,
// prev the hash of the entry before it and sha the sha256 of its recording
// (formatV1 stores none of them).
func decodeEvent(seq uint64, v []byte, prev string, sha shaOf) (Event, error) {
	var e Event
	if len(v) > 0 && v[0] == formatJSON {
		err := json.Unmarshal(v, &e)
		return e, err
	}
	if len(v) < 33 || v[0] != formatV1 {
		return e, fmt.Errorf("unknown value format %#x", firstByte(v))
	}
	e.Seq, e.Prev, e.Hash = seq, prev, hex.EncodeToString(v[1:33])
	d := &decoder{b: v[33:]}
	e.Type = d.code(eventCodes)
	e.Time = d.time()
	e.Recording = d.uvarint()
	if len(d.b) > 0 && d.b[0] == shaRecording {
		d.byte()
		e.SHA256 = sha(e.Recording)
	} else {
		e.SHA256 = d.hash()
	}
	if e.Actor = d.str(); e.Actor == "" {
		e.Actor = ActorCustodian
	}
	at := d.uvarint()
	e.Detail = d.str()
	if at > 0 {
		if at-1 > uint64(len(e.Detail)) {
			d.fail()
		} else {
			e.Detail = e.Detail[:at-1] + e.SHA256 + e.Detail[at-1:]
		}
	}
	if d.err == nil && len(d.b) != 0 {
		return e, fmt.Errorf("%d bytes after the event", len(d.b))
	}
	return e, d.err
}

// trailEvent is decodeEvent for a reader of the trail: an undecodable
// entry is a break of the chain.
func trailEvent(seq uint64, v []byte, prev string, sha shaOf) (Event, error) {
	e, err := decodeEvent(seq, v, prev, sha)
	if err != nil {
		return e, &ChainError{Seq: seq, Reason: "undecodable entry"}
	}
	return e, nil
}

// shippedLine is event e's line of the shipped trail, v its stored value
// (decoded into e): a JSON value as it is stored, a binary one as the JSON
// it was written from. It may point into bbolt's map.
func shippedLine(e Event, v []byte) ([]byte, error) {
	if v[0] == formatJSON {
		return v, nil
	}
	return json.Marshal(e)
}

// eventHash is the hash an events value records, without decoding the rest.
func eventHash(v []byte) (string, error) {
	if len(v) >= 33 && v[0] == formatV1 {
		return hex.EncodeToString(v[1:33]), nil
	}
	var e struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(v, &e); err != nil {
		return "", err
	}
	return e.Hash, nil
}

// getEvent reads event seq, with the hash of the one before it.
func getEvent(tx *bolt.Tx, seq uint64) (Event, error) {
	b := tx.Bucket(bucketEvents)
	v := b.Get(u64(seq))
	if v == nil {
		return Event{}, &ChainError{Seq: seq, Reason: "entry missing"}
	}
	prev, err := prevHash(b, seq, v)
	if err != nil {
		return Event{}, err
	}
	return trailEvent(seq, v, prev, recordSHA(tx))
}

// prevHash is the hash of the entry before seq (v is seq's value): a JSON
// entry says it; for a binary one it is the previous entry's.
func prevHash(b *bolt.Bucket, seq uint64, v []byte) (string, error) {
	if len(v) > 0 && v[0] == formatJSON || seq <= 1 {
		return "", nil // JSON carries its own prev; the first entry has none
	}
	pv := b.Get(u64(seq - 1))
	if pv == nil {
		return "", &ChainError{Seq: seq - 1, Reason: "entry missing"}
	}
	h, err := eventHash(pv)
	if err != nil {
		return "", &ChainError{Seq: seq - 1, Reason: "undecodable entry"}
	}
	return h, nil
}
