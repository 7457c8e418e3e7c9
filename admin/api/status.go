package api

import (
	"fmt"
	"strings"
	"time"

	"custodian/hardware/disk"
	"custodian/storage/catalog"
)

// Status is the body of GET /api/v1/status. Its fields stand in the order
// of their names: the body was a map once, which encoding/json writes
// sorted, and clients may have kept a copy to compare. Docks, rooms and
// reconcile come from the daemon's sources and are absent without them;
// health is absent when storage is not watched, clock when the station
// clock is not.
type Status struct {
	Alerts []Alert `json:"alerts"`
	// Approvals are the requests waiting for a second supervisor.
	Approvals []Request `json:"approvals,omitempty"`
	// Checks are the background checks running now: the daemon answers
	// meanwhile, and says what is still being checked.
	Checks    []Check               `json:"checks,omitempty"`
	Clock     *Clock                `json:"clock,omitempty"`
	Counts    map[catalog.State]int `json:"counts"`
	Docks     []Dock                `json:"docks,omitzero"`
	Events    []Event               `json:"events"`
	Failures  []Failure             `json:"failures,omitempty"`
	Health    *Health               `json:"health,omitempty"`
	Level     disk.Level            `json:"level"`
	Reconcile *Reconcile            `json:"reconcile,omitempty"`
	Retention *Rule                 `json:"retention,omitempty"`
	Rooms     []Room                `json:"rooms,omitzero"`
	Station   string                `json:"station"`
	Version   string                `json:"version"`
}

// Clock is the station's own clock, which every receipt time and retention
// date comes from. While it is not trusted, retention evicts, expires and
// deletes nothing; Reason says why. Synchronised and MaxErrorSeconds are
// absent where the system does not say.
type Clock struct {
	Time            time.Time `json:"time"`
	Synchronised    *bool     `json:"synchronised,omitempty"`
	MaxErrorSeconds *float64  `json:"max_error_seconds,omitempty"`
	StepsBack       int       `json:"steps_back"`
	StepsForward    int       `json:"steps_forward"`
	Trusted         bool      `json:"trusted"`
	Reason          string    `json:"reason,omitempty"`
}

// Rule is the retention rule in force, as the custody trail records it,
// and since when (zero when unknown).
type Rule struct {
	Rule  string    `json:"rule"`
	Since time.Time `json:"since,omitzero"`
}

// Failure is a part of the daemon (a room, a dock, the uploader, ...) that
// failed and is being started again; the rest of the daemon runs on.
type Failure struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Error    string    `json:"error"`
	Since    time.Time `json:"since"`
	Restarts int       `json:"restarts"`
}

// Check is a background check under way: what it checks, since when, and
// how far it got (Done of Total, in its Unit).
type Check struct {
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
	Done    int       `json:"done"`
	Total   int       `json:"total"`
	Unit    string    `json:"unit"`
}

// Alert is one thing that needs the administrator, on the status page and
// in the status.
type Alert struct {
	Level disk.Level `json:"level"`
	Text  string     `json:"text"`
}

// Event is one entry of the custody trail.
type Event struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Recording uint64    `json:"recording,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
	Actor     string    `json:"actor"`
	Detail    string    `json:"detail,omitempty"`
	Prev      string    `json:"prev"`
	Hash      string    `json:"hash"`
}

// Dock is a docking station: its cameras and their offload.
type Dock struct {
	ID       string    `json:"id"`
	Path     string    `json:"path"`
	LastScan time.Time `json:"last_scan,omitzero"`
	Error    string    `json:"error,omitempty"`
	Paused   bool      `json:"paused"`
	Slots    []Slot    `json:"slots"`
}

// Slot is one docked camera. State is "done" the moment its last file is
// released (safe to undock), else "offloading"; ETA is its remaining bytes
// at its rate so far (0: not known yet). Left counts, by reason, entries
// that stay on the camera unread; Unregistered names a device of this
// camera's recordings that the devices table does not know.
type Slot struct {
	Slot           string         `json:"slot"`
	Device         string         `json:"device,omitempty"`
	State          string         `json:"state"`
	DockedSince    time.Time      `json:"docked_since"`
	PendingFiles   int            `json:"pending_files"`
	PendingBytes   int64          `json:"pending_bytes"`
	DoneFiles      int            `json:"done_files"`
	DoneBytes      int64          `json:"done_bytes"`
	KeptFiles      int            `json:"kept_files,omitempty"`
	OffloadStarted time.Time      `json:"offload_started,omitzero"`
	ETA            time.Duration  `json:"eta_ns,omitempty"`
	LastOffload    time.Time      `json:"last_offload,omitzero"`
	LastError      string         `json:"last_error,omitempty"`
	Left           map[string]int `json:"left,omitempty"`
	Unregistered   string         `json:"unregistered,omitempty"`
	// ClockOffset is the camera's clock minus the station's as measured
	// when it docked (negative: slow), ClockBasis how (catalog.Clock*;
	// empty: not measured yet), ClockSuspect that it is off by more than
	// the dock's max_clock_offset.
	ClockOffset  time.Duration `json:"clock_offset_ns,omitempty"`
	ClockBasis   string        `json:"clock_basis,omitempty"`
	ClockSuspect bool          `json:"clock_suspect,omitempty"`
}

// Room is an interview room's recorder. URL has its password redacted;
// Segment is the segment being written, empty while the room records none.
type Room struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`              // without credentials; empty for a room that listens
	Listen     string    `json:"listen,omitempty"` // where the room's recorder pushes to
	Connected  bool      `json:"connected"`
	Since      time.Time `json:"since,omitzero"`
	Segment    string    `json:"segment,omitempty"`
	Codecs     []string  `json:"codecs,omitempty"`
	Reconnects int       `json:"reconnects"`
	LastError  string    `json:"last_error,omitempty"`
	Sealed     int       `json:"sealed"`
	// NotRecordingSince is when the room stopped recording (or began to
	// try), zero while it records; NotRecordingReason says why: auth
	// refused, unreachable, no media, connecting, waiting for recorder or other. After
	// AlertAfter without recording the room is an alert.
	NotRecordingSince  time.Time     `json:"not_recording_since,omitzero"`
	NotRecordingReason string        `json:"not_recording_reason,omitempty"`
	AlertAfter         time.Duration `json:"alert_after_ns,omitempty"`
}

// Reconcile is what the check of staging against the catalog found at start.
type Reconcile struct {
	PartialRemoved []string `json:"partial_removed,omitempty"`
	Orphans        []string `json:"orphans,omitempty"`
	Verified       []uint64 `json:"verified,omitempty"`
	Missing        []uint64 `json:"missing,omitempty"`
}

// Health is the latest sample of the storage custodian writes to.
type Health struct {
	Time    time.Time  `json:"time"`
	Level   disk.Level `json:"level"`
	Volumes []Volume   `json:"volumes"`
}

// Volume is the health of one volume, named by its role. Latencies are in
// nanoseconds; IOErrors is -1 when the driver does not count them.
type Volume struct {
	Role         string        `json:"role"`
	Path         string        `json:"path"`
	MountPoint   string        `json:"mount_point,omitempty"`
	FSType       string        `json:"fs_type,omitempty"`
	Device       string        `json:"device,omitempty"`
	TotalBytes   uint64        `json:"total_bytes"`
	FreeBytes    uint64        `json:"free_bytes"`
	UsedBytes    uint64        `json:"used_bytes"`
	TotalInodes  uint64        `json:"total_inodes"`
	FreeInodes   uint64        `json:"free_inodes"`
	IOErrors     int64         `json:"io_errors"`
	ReadLatency  time.Duration `json:"read_latency_ns"`
	WriteLatency time.Duration `json:"write_latency_ns"`
	Marker       string        `json:"marker,omitempty"`
	SMART        SMART         `json:"smart"`
	Level        disk.Level    `json:"level"`
	Problems     []string      `json:"problems,omitempty"`
}

// SMART is what smartctl said about a volume's disk; Note says why not.
type SMART struct {
	Passed       *bool  `json:"passed,omitempty"`
	Model        string `json:"model,omitempty"`
	Serial       string `json:"serial,omitempty"`
	Temperature  int    `json:"temperature_celsius,omitempty"`
	PowerOnHours int    `json:"power_on_hours,omitempty"`
	Note         string `json:"note,omitempty"`
}

// leftReasons says what each reason a dock leaves an entry means.
var leftReasons = []struct{ key, text string }{
	{"outside", "path that became a link"},
	{"symlink", "link (never followed)"},
	{"special", "special file (never opened)"},
	{"too_deep", "folder deeper than max_depth"},
	{"unreadable", "unreadable folder"},
}

// LeftText is "3 entries left on the camera: 2 link (never followed), 1
// ...", or empty when the dock reads everything on the camera.
func (s Slot) LeftText() string {
	var n int
	var parts []string
	for _, r := range leftReasons {
		if c := s.Left[r.key]; c > 0 {
			n += c
			parts = append(parts, fmt.Sprintf("%d %s", c, r.text))
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return "1 entry left on the camera: " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%d entries left on the camera: %s", n, strings.Join(parts, ", "))
}
