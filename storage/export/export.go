// Package export owns the court export of a case: the recordings with their
// hashes, the custody trail that proves them, the manifest and index a
// prosecutor or court reads, and the offline check that anyone can run on it.
package export

import (
	"fmt"
	"strings"
	"time"

	"custodian/storage/catalog"
)

// Schema names the manifest's format; Verify refuses any other.
const Schema = "custodian-export/1"

// The fixed files of an export. Recordings and trail segments live below
// RecordingsDir and TrailDir.
const (
	ManifestName    = "manifest.json"
	ManifestSumName = "manifest.sha256" // the manifest's hash, a second witness beside SHA256SUMS
	SumsName        = "SHA256SUMS"
	IndexName       = "index.html"
	EventsName      = "trail/events.jsonl"
	RecordingsDir   = "recordings/"
	TrailDir        = "trail/"
)

// EventExported is the custody event an export records for each of its
// recordings, before any file is handed out.
const EventExported = "exported"

// Manifest describes an export: what is in it, who asked for it and why,
// and where in the custody trail each recording's history is.
type Manifest struct {
	Schema     string      `json:"schema"`
	Station    string      `json:"station"`
	Case       string      `json:"case"`
	ExportedAt time.Time   `json:"exported_at"`
	ExportedBy string      `json:"exported_by"`
	Why        string      `json:"why,omitempty"`
	Recordings []Recording `json:"recordings"`
	Trail      Trail       `json:"trail"`
	// Files is the SHA-256 of every other file of the export but the
	// manifest, its hash file and SHA256SUMS, by name: a second witness
	// beside SHA256SUMS, so that an altered SHA256SUMS is told apart from
	// an altered file.
	Files map[string]string `json:"files"`
}

// Recording is one recording of the export.
type Recording struct {
	File      string         `json:"file"`
	ID        uint64         `json:"id"`
	SHA256    string         `json:"sha256"`
	Size      int64          `json:"size"`
	Source    catalog.Source `json:"source"`
	SourceID  string         `json:"source_id"`
	Name      string         `json:"name"`
	Officer   string         `json:"officer,omitempty"`
	Officers  []string       `json:"officers,omitempty"`
	Device    string         `json:"device,omitempty"`
	StartedAt time.Time      `json:"started_at"`
	EndedAt   time.Time      `json:"ended_at,omitzero"`
	// CameraTime is the start as the camera stated it; ReceivedAt the
	// station's receipt; ClockOffset the camera's clock minus the
	// station's as measured at docking, and ClockBasis how.
	CameraTime    time.Time `json:"camera_time,omitzero"`
	ReceivedAt    time.Time `json:"received_at"`
	ClockOffsetNS int64     `json:"clock_offset_ns,omitempty"`
	ClockBasis    string    `json:"clock_basis,omitempty"`

	ArchiveKey     string    `json:"archive_key,omitempty"`
	ArchiveVersion string    `json:"archive_version,omitempty"`
	LockMode       string    `json:"lock_mode,omitempty"`
	LockUntil      time.Time `json:"lock_until,omitzero"`
	LegalHold      bool      `json:"legal_hold,omitempty"`
	// FetchedFrom says where the exported bytes came from: staging or archive.
	FetchedFrom string         `json:"fetched_from"`
	Holds       []catalog.Hold `json:"holds,omitempty"`
	Cases       []string       `json:"cases,omitempty"`
	Case        string         `json:"case,omitempty"`
	Subject     string         `json:"subject,omitempty"`
	Sessions    []uint64       `json:"sessions,omitempty"`
	// Events are the sequence numbers of the recording's custody events,
	// its export among them.
	Events []uint64 `json:"events"`
}

// Trail is the custody trail of the export's recordings: their events
// (EventsName) and the segments of the whole trail that hold them.
type Trail struct {
	Events   string    `json:"events"`
	Segments []Segment `json:"segments"`
}

// Segment is a run of consecutive events of the station's whole trail,
// exactly as stored. An anchored one is an archived audit chunk (key,
// version, locked in the archive); the last may be unanchored: events not
// yet shipped, up to the export's own.
type Segment struct {
	File           string `json:"file"`
	First          uint64 `json:"first"`
	Last           uint64 `json:"last"`
	SHA256         string `json:"sha256"`
	ArchiveKey     string `json:"archive_key,omitempty"`
	ArchiveVersion string `json:"archive_version,omitempty"`
}

// Anchored reports whether the archive holds the segment.
func (s Segment) Anchored() bool { return s.ArchiveKey != "" }

// recordingFile names a recording in the export by its id and hash only:
// nothing a device chose becomes a path.
func recordingFile(r catalog.Recording) string {
	ext := strings.ToLower(strings.TrimPrefix(r.Ext, "."))
	if ext == "" {
		if i := strings.LastIndexByte(r.Name, '.'); i >= 0 {
			ext = strings.ToLower(r.Name[i+1:])
		}
	}
	clean := ext != "" && len(ext) <= 8
	for _, c := range []byte(ext) {
		clean = clean && ('a' <= c && c <= 'z' || '0' <= c && c <= '9')
	}
	name := fmt.Sprintf("%s%06d-%s", RecordingsDir, r.ID, r.SHA256[:16])
	if clean {
		name += "." + ext
	}
	return name
}

func segmentFile(first, last uint64) string {
	return fmt.Sprintf("%s%012d-%012d.jsonl", TrailDir, first, last)
}
