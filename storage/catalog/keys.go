package catalog

import (
	"encoding/binary"
	"time"
)

// Every bucket name and key encoding of the catalog lives in this file.
//
// recordings   u64(id)                                 -> JSON Recording
// events       u64(seq)                                -> JSON Event
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

	allBuckets = [][]byte{
		bucketRecordings, bucketEvents, bucketMeta, bucketCounts,
		bucketIdxState, bucketIdxTime, bucketIdxOfficer, bucketIdxDevice,
		bucketIdxSHA, bucketIdxContent, bucketIdxQuick, bucketIdxPending, bucketIdxIntent, bucketUploads, bucketAudit,
		bucketGaps, bucketSessions, bucketIdxSession, bucketOpenSess,
	}

	keySchema        = []byte("schema")
	keyLastEventHash = []byte("last_event_hash")
)

// countHeld is the counts key of the permanent class; no state is named so.
const countHeld State = "held"

// SchemaVersion is written on first open and checked on every open.
const SchemaVersion = "1"

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
