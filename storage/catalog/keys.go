package catalog

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Every bucket name and key encoding of the catalog lives in this file.
//
// recordings   u64(id)                                 -> Recording, formatV1 or JSON (codec_record.go)
// events       u64(seq)                                -> Event, formatV1 or JSON (codec_event.go)
// meta         "schema" | "last_event_hash"            -> value
// meta         "setting:"name [":at"]                  -> a noted setting [since when, RFC 3339]
//
// counts       state | "held"                          -> u64 count
// idx_state    state 0 u64(id)                         -> nil
// idx_time     u64(started) u64(id)                    -> nil
// idx_officer  officer 0 u64(started) u64(id)          -> nil
// idx_device   device 0 u64(started) u64(id)           -> nil
// idx_sha      sha256 0 u64(id)                        -> nil
// idx_content  device 0 name 0 sha256                  -> u64(id)
// idx_quick    device 0 name 0 u64(size) u64(mtime)    -> u64(id)
// idx_pending  source_id 0 u64(id)                     -> nil (a release under way)
// idx_intent   u64(id)                                 -> nil (a retention step under way)
// uploads      u64(id)                                 -> JSON MultipartUpload
// audit_chunks u64(first event seq)                    -> JSON AuditChunk
// gaps         room 0 u64(start) u64(seq)              -> JSON Gap
// sessions     u64(id)                                 -> JSON Session
// idx_session  room 0 u64(started) u64(id)             -> nil
// open_session room                                    -> u64(id) of the room's open session
// idx_room     room 0 u64(started) u64(id)             -> nil (interview-room segments)
// idx_received u64(received) u64(id)                   -> nil
// idx_case     case 0 u64(id)                          -> nil (schema 3: a case's recordings)
//
// Retention indexes (schema 2): what a sweep may act on, by the time it may
// become due. The catalog knows no policy (period, local_keep, grace), so
// each is keyed by a time the policy counts from; retention turns the
// policy into bounds.
//
// idx_retain   u64(started) u64(id)  -> timeValue(started, received, retain_until): verified or archived, not held
// idx_evict    u64(archived) u64(id) -> nil: archived with a local copy
// idx_grace    u64(expiring) u64(id) -> nil: expiring, not held (deleted after the grace period)
// idx_unmark   u64(id)               -> nil: expiring and held (unmarked at once)
// idx_legal    u64(id)               -> nil: archived or expiring, legal_hold != held
// idx_local    u64(id)               -> nil: a local copy is expected in staging (staged, verified,
// archived or expiring, not evicted)
//
// Two-person approvals (schema 3): a release of a permanent hold, a restore
// or an export of a case is a request that a second supervisor approves.
//
// requests     u64(id)                  -> JSON Request
// idx_req_open u64(id)                  -> nil: pending (decided requests leave it)
// idx_export   case 0 u64(id)           -> nil: an approved export not yet used
//
// meta "newest" is u64(newest received_at or expiring_at ever written), for
// the planner's clock check; meta "upgrade" is u64(last id indexed) while an
// upgrade from schema 1 or 2 builds the indexes they lack.
//
// uploads holds the resumable state of a multipart upload in progress; the
// entry goes in the same transaction that marks the record archived.
//
// Names from devices never contain 0 (POSIX forbids it in file names), and
// device and officer ids are restricted by the hardware package, so 0 is a
// safe separator.
var (
	bucketRecordings = []byte("recordings")
	bucketEvents     = []byte("events")
	bucketMeta       = []byte("meta")
	bucketCounts     = []byte("counts")
	bucketIdxState   = []byte("idx_state")
	bucketIdxTime    = []byte("idx_time")
	bucketIdxOfficer = []byte("idx_officer")
	bucketIdxDevice  = []byte("idx_device")
	bucketIdxSHA     = []byte("idx_sha")
	bucketIdxContent = []byte("idx_content")
	bucketIdxQuick   = []byte("idx_quick")
	bucketIdxPending = []byte("idx_pending")
	bucketIdxIntent  = []byte("idx_intent")
	bucketUploads    = []byte("uploads")
	bucketAudit      = []byte("audit_chunks")
	bucketGaps       = []byte("gaps")
	bucketSessions   = []byte("sessions")
	bucketIdxSession = []byte("idx_session")
	bucketOpenSess   = []byte("open_session")
	bucketIdxRoom    = []byte("idx_room")
	bucketIdxRecv    = []byte("idx_received")
	bucketIdxRetain  = []byte("idx_retain")
	bucketIdxEvict   = []byte("idx_evict")
	bucketIdxGrace   = []byte("idx_grace")
	bucketIdxUnmark  = []byte("idx_unmark")
	bucketIdxLegal   = []byte("idx_legal")
	bucketIdxLocal   = []byte("idx_local")
	bucketRequests   = []byte("requests")
	bucketIdxReqOpen = []byte("idx_req_open")
	bucketIdxExport  = []byte("idx_export")
	bucketIdxCase    = []byte("idx_case")

	allBuckets = [][]byte{
		bucketRecordings, bucketEvents, bucketMeta, bucketCounts,
		bucketIdxState, bucketIdxTime, bucketIdxOfficer, bucketIdxDevice,
		bucketIdxSHA, bucketIdxContent, bucketIdxQuick, bucketIdxPending, bucketIdxIntent, bucketUploads, bucketAudit,
		bucketGaps, bucketSessions, bucketIdxSession, bucketOpenSess,
		bucketIdxRoom, bucketIdxRecv, bucketIdxRetain, bucketIdxEvict, bucketIdxGrace, bucketIdxUnmark, bucketIdxLegal, bucketIdxLocal,
		bucketRequests, bucketIdxReqOpen, bucketIdxExport, bucketIdxCase,
	}
	// schema2Buckets are the indexes schema 2 added; an upgrade fills them.
	schema2Buckets = [][]byte{
		bucketIdxRoom, bucketIdxRecv, bucketIdxRetain, bucketIdxEvict, bucketIdxGrace, bucketIdxUnmark, bucketIdxLegal, bucketIdxLocal,
	}
	// schema3Buckets are the indexes schema 3 added; an upgrade fills them.
	schema3Buckets = [][]byte{bucketIdxCase}

	keySchema        = []byte("schema")
	keyLastEventHash = []byte("last_event_hash")
	keyNewest        = []byte("newest")
	keyUpgrade       = []byte("upgrade")
	// keyCaseIndexed is set once idx_case holds every record's cases: on
	// a new catalog, after a schema 1 upgrade, after catalog compact.
	keyCaseIndexed = []byte("case_indexed")
)

// countHeld is the counts key of the permanent class; no state is named so.
const countHeld State = "held"

// SchemaVersion is written on first open and checked on every open;
// schema 1 (no retention indexes) and schema 2 are upgraded in place.
// Schema 3 adds the two-person approval requests, which keeps a custodian
// that knows no two-person rule from opening the catalog and releasing a
// hold on one word, and writes records and events in the binary formatV1
// (codec.go) while reading the JSON of schema 2 as well, so a schema 2
// catalog becomes schema 3 by a custody event; `custodian catalog compact`
// rewrites its old values.
const (
	SchemaVersion = "3"
	schema1       = "1"
	schema2       = "2"
)

// Page fill. bbolt splits a page it writes at FillPercent, half by
// default: right for keys inserted anywhere, but the catalog's keys mostly
// grow (ids, sequence numbers, times of new recordings, an officer's or a
// camera's next recording), so pages split at half stay half empty for
// ever: the catalog was twice its size. Append-only buckets pack pages
// full; the others nearly full, leaving room for the odd key in between.
const (
	fillAppend = 1.0
	fillMostly = 0.9
)

// appendOnly are the buckets whose keys only ever grow.
var appendOnly = [][]byte{bucketRecordings, bucketEvents, bucketIdxRecv, bucketAudit}

// update is db.Update with the catalog's page fill set on every bucket
// before the transaction commits (bbolt reads FillPercent when it splits
// pages, at commit, and forgets it with the transaction).
func update(db *bolt.DB, fn func(*bolt.Tx) error) error {
	return db.Update(func(tx *bolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		setFill(tx)
		return nil
	})
}

func setFill(tx *bolt.Tx) {
	for _, name := range allBuckets {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = fillMostly
		}
	}
	for _, name := range appendOnly {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = fillAppend
		}
	}
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// timeKey orders times before 1970 (reset camera clocks can say anything) first.
func timeKey(t time.Time) uint64 {
	n := t.UnixNano()
	if n < 0 || t.IsZero() {
		return 0
	}
	return uint64(n)
}

func join(parts ...[]byte) []byte {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var sep = []byte{0}

func stateKey(s State, id uint64) []byte { return join([]byte(s), sep, u64(id)) }
func timeIdxKey(t time.Time, id uint64) []byte {
	return join(u64(timeKey(t)), u64(id))
}
func prefixTimeKey(prefix string, t time.Time, id uint64) []byte {
	return join([]byte(prefix), sep, u64(timeKey(t)), u64(id))
}
func pendingKey(sourceID string, id uint64) []byte { return join([]byte(sourceID), sep, u64(id)) }
func shaKey(sha string, id uint64) []byte          { return join([]byte(sha), sep, u64(id)) }
func exportKey(caseNo string, id uint64) []byte    { return join([]byte(caseNo), sep, u64(id)) }
func contentKey(device, name, sha string) []byte {
	return join([]byte(device), sep, []byte(name), sep, []byte(sha))
}
func quickKey(device, name string, size int64, mtime time.Time) []byte {
	return join([]byte(device), sep, []byte(name), sep, u64(uint64(size)), u64(timeKey(mtime)))
}

// gapKey orders a room's gaps by start; seq keeps two gaps of one instant apart.
func gapKey(room string, start time.Time, seq uint64) []byte {
	return join([]byte(room), sep, u64(timeKey(start)), u64(seq))
}

// timeValue packs times exactly (seconds and nanoseconds since 1970, so a
// zero time stays zero): 12 bytes each.
func timeValue(ts ...time.Time) []byte {
	out := make([]byte, 0, 12*len(ts))
	for _, t := range ts {
		out = binary.BigEndian.AppendUint64(out, uint64(t.Unix()))
		out = binary.BigEndian.AppendUint32(out, uint32(t.Nanosecond()))
	}
	return out
}

// readTimes unpacks what timeValue packed; a short value reads as zero times.
func readTimes(v []byte, ts ...*time.Time) {
	for _, t := range ts {
		if len(v) < 12 {
			*t = time.Time{}
			continue
		}
		*t = time.Unix(int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint32(v[8:]))).UTC()
		v = v[12:]
	}
}

// keyTime is the time in the first 8 bytes of a time-ordered index key.
func keyTime(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// keyID is the id in the last 8 bytes of an index key.
func keyID(k []byte) uint64 { return binary.BigEndian.Uint64(k[len(k)-8:]) }
