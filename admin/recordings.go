package admin

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"custodian/admin/api"
	"custodian/storage/catalog"
)

// recordings serves GET /api/v1/recordings: one page of the recordings
// that match the filter, at most limit (and MaxResults) long, with the
// cursor of the next page in next while more match. A client passes next
// back as cursor, with the same filter, until a page comes without one.
func (s *Server) recordings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := takeCursor(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f, err := ParseFilter(q, s.cfg.Location)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.Limit == 0 || f.Limit > s.cfg.MaxResults {
		f.Limit = s.cfg.MaxResults
	}
	f.After = after
	recs, next, err := s.cat.ListPageContext(r.Context(), f)
	if errors.Is(err, catalog.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "cursor: not from a listing with these filters")
		return
	}
	if f.Session != 0 && errors.Is(err, catalog.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no session %d", f.Session))
		return
	}
	if err != nil && r.Context().Err() != nil {
		return // the client left, and the listing stopped with it
	}
	if err != nil {
		s.log.Error("list recordings", "err", err)
		writeError(w, http.StatusInternalServerError, "catalog read failed")
		return
	}
	resp := api.RecordingsResponse{Recordings: orEmpty(api.List(recs, APIRecording))}
	if next != nil {
		resp.Next, resp.Truncated = base64.RawURLEncoding.EncodeToString(next), true
	}
	writeJSON(w, http.StatusOK, resp)
}

// takeCursor reads and removes the cursor parameter: base64url (no
// padding) of a catalog cursor, which the catalog checks against the filter.
func takeCursor(q url.Values) (catalog.Cursor, error) {
	v, ok := q["cursor"]
	if !ok {
		return nil, nil
	}
	q.Del("cursor")
	if len(v) != 1 {
		return nil, fmt.Errorf("parameter %q given %d times", "cursor", len(v))
	}
	c, err := base64.RawURLEncoding.DecodeString(v[0])
	if err != nil || len(c) == 0 {
		return nil, errors.New("cursor: not one this API gave")
	}
	return c, nil
}

// ParseFilter reads the recordings filter from query parameters: officer,
// device, state, flag, from, to (RFC 3339 or a date in the station zone),
// limit. Unknown parameters are errors, so a typo never silently widens a
// query.
func ParseFilter(q url.Values, loc *time.Location) (catalog.Filter, error) {
	var f catalog.Filter
	for k, v := range q {
		if len(v) != 1 {
			return f, fmt.Errorf("parameter %q given %d times", k, len(v))
		}
		val := v[0]
		var err error
		switch k {
		case "officer":
			f.Officer, err = id(k, val)
		case "device":
			f.Device, err = id(k, val)
		case "source_id":
			f.SourceID, err = id(k, val)
		case "source":
			f.Source = catalog.Source(val)
			if f.Source != catalog.SourceDock && f.Source != catalog.SourceRoom {
				err = fmt.Errorf("source: want dock or room")
			}
		case "state":
			f.State = catalog.State(val)
			if !f.State.Valid() {
				err = fmt.Errorf("state %q: want one of %v", val, catalog.States)
			}
		case "flag":
			f.Flag = val
			if !catalog.ValidFlag(val) {
				err = fmt.Errorf("flag %q: want one of %s", truncate(val, 40), strings.Join(catalog.Flags, ", "))
			}
		case "session":
			f.Session, err = strconv.ParseUint(val, 10, 64)
			if err != nil || f.Session == 0 {
				err = fmt.Errorf("session: want a session id (a positive number)")
			}
		case "from":
			f.From, err = ParseTime(val, loc)
		case "to":
			f.To, err = ParseTime(val, loc)
		case "limit":
			f.Limit, err = strconv.Atoi(val)
			if err != nil || f.Limit < 1 {
				err = fmt.Errorf("limit: want a positive number")
			}
		default:
			err = fmt.Errorf("unknown parameter %q", k)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}
