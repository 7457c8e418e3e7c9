package api

import (
	"net/url"
	"time"
)

// RoomPath is the API path of a room.
func RoomPath(room string) string { return "/api/v1/rooms/" + url.PathEscape(room) }

// RoomResponse is the body of GET /api/v1/rooms/{room}: its segments, gaps
// and interview sessions, oldest first.
type RoomResponse struct {
	Room       string      `json:"room"`
	Configured bool        `json:"configured"`
	Connected  bool        `json:"connected"`
	Segments   []Recording `json:"segments"`
	Gaps       []Gap       `json:"gaps"`
	Sessions   []Session   `json:"sessions"`
	Truncated  bool        `json:"truncated,omitempty"`
}

// Gap is a span of station time in which a room was not recorded.
type Gap struct {
	Room   string    `json:"room"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason"`
	Track  string    `json:"track,omitempty"` // audio or video when only that track had the hole
	Detail string    `json:"detail,omitempty"`
}

// Duration is how long the room went unrecorded.
func (g Gap) Duration() time.Duration { return g.End.Sub(g.Start) }

// Session is an interview in a room, bound to a case.
type Session struct {
	ID        uint64    `json:"id"`
	Room      string    `json:"room"`
	Case      string    `json:"case"`
	Subject   string    `json:"subject"`
	Officers  []string  `json:"officers"`
	Note      string    `json:"note,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	StartedBy string    `json:"started_by,omitempty"`
	StoppedBy string    `json:"stopped_by,omitempty"`
}

// Open reports whether the session has not been stopped.
func (s Session) Open() bool { return s.EndedAt.IsZero() }

// StartSessionRequest is the body of POST /api/v1/rooms/{room}/sessions.
type StartSessionRequest struct {
	Case     string   `json:"case"`
	Subject  string   `json:"subject"`
	Officers []string `json:"officers"`
	Note     string   `json:"note,omitempty"`
}

// SessionResponse answers a session start or stop. Warning is set when the
// room's feed is not being recorded: the session is kept, but nothing is
// being recorded for it until the feed is back.
type SessionResponse struct {
	Session Session `json:"session"`
	Warning string  `json:"warning,omitempty"`
}
