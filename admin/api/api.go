// Package api is the JSON the admin HTTP API and the custodian CLI exchange.
package api

// The structs are api's own, so a change of the catalog record or of a
// source's status changes the API only where a conversion in admin or cmd
// says so. Small value types (a recording's state and source, a health
// level) are reused, so that their names have one definition.

// ErrorResponse is the body of every 4xx and 5xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

// NoteRequest is the body of POST /api/v1/notes and
// POST /api/v1/recordings/{id}/notes.
type NoteRequest struct {
	Text string `json:"text"`
}

// NoteResponse answers a recorded note.
type NoteResponse struct {
	Recorded  bool   `json:"recorded"`
	Recording uint64 `json:"recording,omitempty"`
	Actor     string `json:"actor"`
}

// AuditResponse is the body of GET /api/v1/audit/verify.
type AuditResponse struct {
	OK      bool   `json:"ok"`
	Checked int    `json:"checked"`
	Error   string `json:"error,omitempty"`
}

// List converts a slice element by element into its wire form. A nil slice
// stays nil, so a JSON null stays null where the API has always sent one.
func List[T, W any](in []T, wire func(T) W) []W {
	if in == nil {
		return nil
	}
	out := make([]W, len(in))
	for i, v := range in {
		out[i] = wire(v)
	}
	return out
}
