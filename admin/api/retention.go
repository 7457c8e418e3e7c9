package api

// HoldRequest is the body of POST /api/v1/holds and POST /api/v1/cases/{case}/links.
// Select by ids, or by officer or room with from and to.
type HoldRequest struct {
	Reason  string   `json:"reason"`
	Why     string   `json:"why"`
	Case    string   `json:"case,omitempty"`
	IDs     []uint64 `json:"ids,omitempty"`
	Officer string   `json:"officer,omitempty"`
	Room    string   `json:"room,omitempty"`
	From    string   `json:"from,omitempty"`
	To      string   `json:"to,omitempty"`
}

// HoldResponse lists the recordings a hold or link reached.
type HoldResponse struct {
	IDs   []uint64 `json:"ids"`
	Actor string   `json:"actor"`
	// Warning is set when the catalog recorded the hold but the archive did
	// not take every legal hold yet; the sweeper keeps trying.
	Warning string `json:"warning,omitempty"`
}

// DecisionRequest is the body of a release or a restore; both answer with
// the Recording as it stands after the decision.
type DecisionRequest struct {
	Reason string `json:"reason,omitempty"`
	Why    string `json:"why"`
}

// Plan is the body of GET /api/v1/retention/plan: what retention would do
// at a time, and what it could not solve.
type Plan struct {
	Actions []Action `json:"actions"`
	// Short is how many bytes of free space are still missing after every
	// eviction allowed; docks pause while it is positive.
	Short    int64    `json:"short,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Action is one step of a plan: evict, mark-expired, unmark or delete.
type Action struct {
	Kind   string `json:"kind"`
	ID     uint64 `json:"id"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Reason string `json:"reason"`
}

// Report is the body of GET /api/v1/report: one station-local day.
type Report struct {
	Day      string      `json:"day"`
	Officers []ReportRow `json:"officers"`
	Devices  []ReportRow `json:"devices"`
	Rooms    []ReportRow `json:"rooms"`
	Held     int         `json:"held"`
	Expired  int         `json:"expired"`
	// Trouble lists recordings of the day that are missing or corrupt.
	Trouble []uint64 `json:"trouble,omitempty"`
	// EnteringGrace lists recordings (of any day) that will be marked
	// deleted within the next seven days.
	EnteringGrace []Action `json:"entering_grace"`
	// ClockOffsets lists the cameras whose clock was off when they docked
	// that day.
	ClockOffsets []ClockRow `json:"clock_offsets,omitempty"`
	// NotDocked names the registered officers and devices from which
	// nothing was received that day.
	NotDocked NotDocked `json:"not_docked"`
}

// NotDocked lists, sorted, the officers and devices of the devices table,
// in force that day, from which the station received no recording that day.
type NotDocked struct {
	Officers []string `json:"officers"`
	Devices  []string `json:"devices"`
}

// ClockRow is one camera's clock as measured when it docked on the day: the
// largest offset on its recordings received that day (negative: slow), how
// it was measured, and whether it is beyond the dock's max_clock_offset.
type ClockRow struct {
	Device        string  `json:"device"`
	OffsetSeconds float64 `json:"offset_seconds"`
	Basis         string  `json:"basis"`
	Recordings    int     `json:"recordings"`
	Flagged       bool    `json:"flagged,omitempty"`
}

// ReportRow counts one officer's, device's or room's recordings of the day;
// for a room also the recorded seconds and the unrecorded ones, by reason.
type ReportRow struct {
	Key        string             `json:"key"`
	Files      int                `json:"files"`
	Bytes      int64              `json:"bytes"`
	Archived   int                `json:"archived"`
	Pending    int                `json:"pending"`
	Seconds    float64            `json:"seconds,omitempty"`
	GapSeconds float64            `json:"gap_seconds,omitempty"`
	Gaps       map[string]float64 `json:"gaps,omitempty"`
}
