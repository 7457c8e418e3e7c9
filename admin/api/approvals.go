package api

import "time"

// NewRequest is the body of POST /api/v1/requests: a release of a
// permanent-class reason, a restore or a case export that a second
// supervisor must approve.
type NewRequest struct {
	Kind   string   `json:"kind"` // release, restore or export
	IDs    []uint64 `json:"ids,omitempty"`
	Reason string   `json:"reason,omitempty"`
	Case   string   `json:"case,omitempty"`
	Why    string   `json:"why"`
}

// Request is a two-person request. State is pending, approved, rejected,
// cancelled, expired (pending past Expires: it can no longer be approved)
// or used (an approved export that was carried out).
type Request struct {
	ID         uint64    `json:"id"`
	Kind       string    `json:"kind"`
	Recordings []uint64  `json:"recordings,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Case       string    `json:"case,omitempty"`
	By         string    `json:"by"`
	Why        string    `json:"why"`
	At         time.Time `json:"at"`
	Expires    time.Time `json:"expires"`
	State      string    `json:"state"`
	DecidedBy  string    `json:"decided_by,omitempty"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`
	DecidedWhy string    `json:"decided_why,omitempty"`
	UsedBy     string    `json:"used_by,omitempty"`
	UsedAt     time.Time `json:"used_at,omitzero"`
}

// RequestsResponse is the body of GET /api/v1/requests: the requests
// waiting for a second supervisor, oldest first.
type RequestsResponse struct {
	Requests []Request `json:"requests"`
}
