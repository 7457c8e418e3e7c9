package api

import (
	"time"

	"custodian/storage/catalog"
)

// Recording is the API's view of one recording: one file from a camera or
// one segment from an interview room. See catalog.Recording for the
// meaning of each field; the API sends every one of them.
type Recording struct {
	ID       uint64         `json:"id"`
	Station  string         `json:"station"`
	Source   catalog.Source `json:"source"`
	SourceID string         `json:"source_id"`
	Slot     string         `json:"slot,omitempty"`

	Device  string `json:"device,omitempty"`
	Officer string `json:"officer,omitempty"`
	Profile string `json:"profile,omitempty"`

	Name    string `json:"name"`
	NameRaw []byte `json:"name_raw,omitempty"`
	RelPath string `json:"rel_path,omitempty"`
	Ext     string `json:"ext,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Seq     int    `json:"seq,omitempty"`

	StartedAt  time.Time `json:"started_at"`
	CameraTime time.Time `json:"camera_time,omitzero"`
	ModTime    time.Time `json:"mod_time,omitzero"`
	ReceivedAt time.Time `json:"received_at"`

	CameraClockOffset time.Duration `json:"camera_clock_offset_ns,omitempty"`
	CameraClockBasis  string        `json:"camera_clock_basis,omitempty"`

	Size      int64    `json:"size"`
	SHA256    string   `json:"sha256"`
	Important bool     `json:"important,omitempty"`
	Locked    bool     `json:"locked,omitempty"`
	Flags     []string `json:"flags,omitempty"`

	State          catalog.State `json:"state"`
	StagedAt       time.Time     `json:"staged_at,omitzero"`
	VerifiedAt     time.Time     `json:"verified_at,omitzero"`
	ReleasedAt     time.Time     `json:"released_at,omitzero"`
	PendingRelease []byte        `json:"pending_release,omitempty"`
	UpdatedAt      time.Time     `json:"updated_at"`

	ArchiveKey      string    `json:"archive_key,omitempty"`
	ArchiveVersion  string    `json:"archive_version,omitempty"`
	ArchivedAt      time.Time `json:"archived_at,omitzero"`
	RetainUntil     time.Time `json:"retain_until,omitzero"`
	LegalHold       bool      `json:"legal_hold,omitempty"`
	UploadAttempts  int       `json:"upload_attempts,omitempty"`
	LastUploadError string    `json:"last_upload_error,omitempty"`

	Holds        []Hold    `json:"holds,omitempty"`
	Cases        []string  `json:"cases,omitempty"`
	EvictedAt    time.Time `json:"evicted_at,omitzero"`
	ExpiringAt   time.Time `json:"expiring_at,omitzero"`
	DeleteMarker string    `json:"delete_marker,omitempty"`
	ExpiredAt    time.Time `json:"expired_at,omitzero"`

	EndedAt  time.Time `json:"ended_at,omitzero"`
	Codecs   []string  `json:"codecs,omitempty"`
	Case     string    `json:"case,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Officers []string  `json:"officers,omitempty"`
	Sessions []uint64  `json:"sessions,omitempty"`
}

// Hold is one reason a recording is kept permanently, with who attached it,
// when and why.
type Hold struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Why    string    `json:"why"`
	Case   string    `json:"case,omitempty"`
}

// RecordingsResponse is the body of GET /api/v1/recordings and
// GET /api/v1/cases/{case}.
type RecordingsResponse struct {
	Recordings []Recording `json:"recordings"`
	// Next, while more recordings match, is the cursor of the next page:
	// an opaque string to send back as cursor= with the same filter.
	Next string `json:"next,omitempty"`
	// Truncated is Next != "", for clients that predate Next.
	Truncated bool `json:"truncated,omitempty"`
}
