package catalog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"

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
//	formatV1, hash (32 bytes), type, time, recording, sha256, actor, detail
//
// Seq is its key and Prev the hash of the event before it, so neither is
// stored: the chain they prove is checked by recomputing each hash over
// the key and the previous entry's hash, exactly as over stored ones.
// ActorCustodian is stored as an empty actor.

// encodeEvent is e's value in the events bucket: formatV1 when it decodes
// (at e.Seq after e.Prev) to exactly e's JSON, else that JSON.
func encodeEvent(e Event) ([]byte, error) {
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
	en.hash(e.SHA256)
	actor := e.Actor
	if actor == ActorCustodian {
		actor = ""
	} else if actor == "" {
		return want, nil
	}
	en.str(actor)
	en.str(e.Detail)
	got, err := decodeEvent(e.Seq, en.b, e.Prev)
	if err != nil {
		return want, nil //nolint:nilerr // keep JSON
	}
	if b, err := json.Marshal(got); err != nil || !bytes.Equal(b, want) {
		return want, nil //nolint:nilerr // a field the encoding cannot hold: keep JSON
	}
	return en.b, nil
}

// decodeEvent reads an events value of either format; seq is its key and
// prev the hash of the entry before it (formatV1 stores neither).
func decodeEvent(seq uint64, v []byte, prev string) (Event, error) {
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
	e.SHA256 = d.hash()
	if e.Actor = d.str(); e.Actor == "" {
		e.Actor = ActorCustodian
	}
	e.Detail = d.str()
	if d.err == nil && len(d.b) != 0 {
		return e, fmt.Errorf("%d bytes after the event", len(d.b))
	}
	return e, d.err
}

// eventJSON is an events value as JSON: a JSON one as it is.
func eventJSON(seq uint64, v []byte, prev string) ([]byte, error) {
	if len(v) > 0 && v[0] == formatJSON {
		return v, nil
	}
	e, err := decodeEvent(seq, v, prev)
	if err != nil {
		return nil, &ChainError{Seq: seq, Reason: "undecodable entry"}
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
func getEvent(b *bolt.Bucket, seq uint64) (Event, error) {
	v := b.Get(u64(seq))
	if v == nil {
		return Event{}, &ChainError{Seq: seq, Reason: "entry missing"}
	}
	prev, err := prevHash(b, seq, v)
	if err != nil {
		return Event{}, err
	}
	e, err := decodeEvent(seq, v, prev)
	if err != nil {
		return Event{}, &ChainError{Seq: seq, Reason: "undecodable entry"}
	}
	return e, nil
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
