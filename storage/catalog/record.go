// Package catalog is the station's record of every recording: the bbolt
// database of recordings and their states, the hash-chained custody trail,
// interview sessions and gaps, and the indexes that find them.
package catalog

import (
	"fmt"
	"slices"
	"time"
)

// State is where a recording stands in its custody life. The catalog only
// moves a record along the transitions allowed by State.CanMove.
type State string

const (
	// StateStaged: the bytes are in staging, fsynced, but not yet re-read.
	StateStaged State = "staged"
	// StateVerified: the staged copy was re-read from disk and its hash matched.
	// Only from here on may a source be released (deleted from a camera).
	StateVerified State = "verified"
	// StateArchived: the archive holds the object and its hash was proven on arrival.
	StateArchived State = "archived"
	// StateMissing: the catalog expects a staged copy that is not on disk.
	StateMissing State = "missing"
	// StateCorrupt: a re-verification found the staged copy no longer matches its hash.
	StateCorrupt State = "corrupt"
	// StateExpiring: past its retention and never held; marked deleted (in
	// the archive, a delete marker) and announced, still restorable until the
	// grace period ends.
	StateExpiring State = "expiring"
	// StateExpired: deleted by the retention rule. The record and its hash
	// stay forever.
	StateExpired State = "expired"
)

// States lists every state, in custody order, for filters and metrics.
var States = []State{StateStaged, StateVerified, StateArchived, StateExpiring, StateExpired, StateMissing, StateCorrupt}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, k := range States {
		if s == k {
			return true
		}
	}
	return false
}

// transitions is the catalog's state machine. Missing and corrupt copies can
// come back to verified only through a fresh verified copy (a re-ingest).
var transitions = map[State][]State{
	StateStaged:   {StateVerified, StateCorrupt, StateMissing},
	StateVerified: {StateArchived, StateCorrupt, StateMissing, StateExpiring},
	StateArchived: {StateCorrupt, StateMissing, StateExpiring},
	// Restore goes back to where the recording was; only the grace period
	// separates the mark from the deletion.
	StateExpiring: {StateArchived, StateVerified, StateExpired, StateCorrupt, StateMissing},
	StateMissing:  {StateVerified},
	StateCorrupt:  {StateVerified},
}

// CanMove reports whether a record may go from s to next.
func (s State) CanMove(next State) bool {
	for _, n := range transitions[s] {
		if n == next {
			return true
		}
	}
	return false
}

// Source says where a recording came from.
type Source string

const (
	SourceDock Source = "dock"
	SourceRoom Source = "room"
)

// Flags noted on a recording; they never stop an ingest.
const (
	FlagUnparsed       = "unparsed"        // no profile could read the file name
	FlagUnregistered   = "unregistered"    // device serial is not in the devices table
	FlagClockSuspect   = "clock-suspect"   // camera start time is implausible
	FlagEmpty          = "empty"           // zero-byte file
	FlagNameNotUTF8    = "name-not-utf8"   // original name bytes kept in NameRaw
	FlagOfficerUnknown = "officer-unknown" // neither name nor devices table gives an officer
	FlagRecovered      = "recovered"       // sealed after a crash, up to its last complete part
	// FlagClockOffset: the camera's clock was found off by more than the
	// dock's max_clock_offset when it docked (CameraClockOffset says how far).
	FlagClockOffset = "clock-offset"
	// FlagNameReused: an earlier recording came from a file with the same
	// device, name, size and time but other bytes (a reset clock, FAT's
	// 2-second times, restarted sequence numbers). Content is identity.
	FlagNameReused = "name-reused"
	// FlagTimeDrift: an interview segment's media time differs from the
	// station time its units took to arrive (a lagging encoder, a camera
	// clock running fast or slow); its ingested event gives the figure.
	FlagTimeDrift = "time-drift"
)

// Flags lists every flag, for filters.
var Flags = []string{FlagUnparsed, FlagUnregistered, FlagOfficerUnknown, FlagClockSuspect, FlagClockOffset,
	FlagEmpty, FlagNameNotUTF8, FlagRecovered, FlagNameReused, FlagTimeDrift}

// ValidFlag reports whether f is one of Flags.
func ValidFlag(f string) bool { return slices.Contains(Flags, f) }

// How a dock measured a camera's clock offset (Recording.CameraClockBasis).
// Only ClockAhead, ClockSinceEmptied and ClockRegistered are proof; a
// ClockStale offset may as well be a camera that was not docked that long.
const (
	// ClockAhead: the newest file is dated after the station's time when it
	// was seen; the clock is at least that fast.
	ClockAhead = "ahead"
	// ClockSinceEmptied: every file is dated before the time the dock last
	// emptied the camera; the clock is at least that slow.
	ClockSinceEmptied = "since-emptied"
	// ClockRegistered: every file is dated before the device was registered.
	ClockRegistered = "before-registration"
	// ClockStale: the newest file is older than its docking by more than a
	// camera plausibly stays undocked; slow by that much, or undocked.
	ClockStale = "stale"
	// ClockConsistent: measured, and nothing shows the clock wrong.
	ClockConsistent = "consistent"
)

// Recording is one catalog record: one file from a camera or one segment from
// an interview room. Its identity is its SHA-256; ID is the station-local key.
type Recording struct {
	ID       uint64 `json:"id"`
	Station  string `json:"station"`
	Source   Source `json:"source"`
	SourceID string `json:"source_id"` // dock id or room id
	Slot     string `json:"slot,omitempty"`

	Device  string `json:"device,omitempty"`
	Officer string `json:"officer,omitempty"`
	Profile string `json:"profile,omitempty"`

	// Name is the original file name, made printable; NameRaw holds the
	// original bytes when they were not valid UTF-8.
	Name    string `json:"name"`
	NameRaw []byte `json:"name_raw,omitempty"`
	RelPath string `json:"rel_path,omitempty"` // below the camera folder, printable
	Ext     string `json:"ext,omitempty"`
	Kind    string `json:"kind,omitempty"` // video, photo, audio, other
	Seq     int    `json:"seq,omitempty"`

	// StartedAt is the best estimate of when recording began (UTC). CameraTime
	// is the start as the camera stated it, kept even when implausible.
	StartedAt  time.Time `json:"started_at"`
	CameraTime time.Time `json:"camera_time,omitzero"`
	ModTime    time.Time `json:"mod_time,omitzero"`
	ReceivedAt time.Time `json:"received_at"`
	// CameraClockOffset is the camera's clock minus the station's, as the
	// dock measured it when the camera docked (negative: slow), and
	// CameraClockBasis how (Clock*); both empty when never measured.
	CameraClockOffset time.Duration `json:"camera_clock_offset_ns,omitempty"`
	CameraClockBasis  string        `json:"camera_clock_basis,omitempty"`

	Size      int64    `json:"size"`
	SHA256    string   `json:"sha256"`
	Important bool     `json:"important,omitempty"`
	Locked    bool     `json:"locked,omitempty"`
	Flags     []string `json:"flags,omitempty"`

	State      State     `json:"state"`
	StagedAt   time.Time `json:"staged_at,omitzero"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	// ReleasedAt is when the source was deleted from the camera, if it was.
	ReleasedAt time.Time `json:"released_at,omitzero"`
	// PendingRelease is the source's path, byte for byte, from just before
	// its deletion until the deletion is recorded: a crash in between is
	// resolved at the next start.
	PendingRelease []byte    `json:"pending_release,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`

	// Archive: where the object is and how long it is locked, set when the
	// upload was proven (StateArchived).
	ArchiveKey     string    `json:"archive_key,omitempty"`
	ArchiveVersion string    `json:"archive_version,omitempty"`
	ArchivedAt     time.Time `json:"archived_at,omitzero"`
	RetainUntil    time.Time `json:"retain_until,omitzero"`
	// LegalHold asks for, or records, a legal hold on the archived object:
	// the recording is in the permanent class (set by retention).
	LegalHold bool `json:"legal_hold,omitempty"`
	// UploadAttempts counts failed uploads since the last success;
	// LastUploadError is the last failure, for admins.
	UploadAttempts  int    `json:"upload_attempts,omitempty"`
	LastUploadError string `json:"last_upload_error,omitempty"`

	// Retention: the reasons for the permanent class, the cases the
	// recording belongs to, and the steps of its local eviction and expiry.
	Holds []Hold   `json:"holds,omitempty"`
	Cases []string `json:"cases,omitempty"`
	// EvictedAt: the local copy was removed, the archive holding a verified one.
	EvictedAt time.Time `json:"evicted_at,omitzero"`
	// ExpiringAt: stage one of expiry; DeleteMarker is the archive's delete
	// marker version, removed again by a restore.
	ExpiringAt   time.Time `json:"expiring_at,omitzero"`
	DeleteMarker string    `json:"delete_marker,omitempty"`
	ExpiredAt    time.Time `json:"expired_at,omitzero"`
	// Intent is a retention step decided and under way (IntentMark,
	// IntentDelete). It is written, after its checks, in the transaction
	// before the archive is asked, and cleared by the one that completes
	// the step; one found at start is resumed. While a deletion is under
	// way nothing can hold or restore the recording.
	Intent   string    `json:"intent,omitempty"`
	IntentAt time.Time `json:"intent_at,omitzero"`

	// Interview-room segments. EndedAt is the station time the segment ends;
	// Codecs names each track as stored (h264, h265, aac, pcm_mulaw, pcm_alaw:
	// G.711 is stored exactly as the camera sent it).
	EndedAt time.Time `json:"ended_at,omitzero"`
	Codecs  []string  `json:"codecs,omitempty"`
	// Case, Subject and Officers come from the interview sessions that overlap
	// the segment (Sessions); each session also adds an evidence hold and its
	// case to Cases (see LinkSessions).
	Case     string   `json:"case,omitempty"`
	Subject  string   `json:"subject,omitempty"`
	Officers []string `json:"officers,omitempty"`
	Sessions []uint64 `json:"sessions,omitempty"`
}

// Retention steps that can be under way (Recording.Intent).
const (
	IntentMark   = "mark-expired" // stage one: the archive's delete marker
	IntentDelete = "delete"       // stage two: the archived version and the local copy go
)

// HasLocalCopy reports whether staging is expected to hold r's bytes.
func (r *Recording) HasLocalCopy() bool {
	switch r.State {
	case StateStaged, StateVerified, StateArchived, StateExpiring:
		return r.EvictedAt.IsZero()
	}
	return false
}

// Hold is one reason a recording is kept permanently, with who attached it,
// when and why. Removing one is a recorded decision too (a custody event).
type Hold struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Why    string    `json:"why"`
	Case   string    `json:"case,omitempty"`
}

// HoldImportantFlag is the hold custodian itself attaches when the officer
// marked a recording important on the camera; an administrator's review
// releases it.
const HoldImportantFlag = "important-flag"

// Permanent reports whether any reason keeps r permanently.
func (r *Recording) Permanent() bool { return len(r.Holds) > 0 }

// HasFlag reports whether r carries flag f.
func (r *Recording) HasFlag(f string) bool {
	for _, g := range r.Flags {
		if g == f {
			return true
		}
	}
	return false
}

// AddFlag adds f once.
func (r *Recording) AddFlag(f string) {
	if !r.HasFlag(f) {
		r.Flags = append(r.Flags, f)
	}
}

// StateError is returned when a transition is not allowed.
type StateError struct {
	ID       uint64
	From, To State
}

func (e *StateError) Error() string {
	return fmt.Sprintf("recording %d: cannot move from %s to %s", e.ID, e.From, e.To)
}
