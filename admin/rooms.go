package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"custodian/admin/api"
	"custodian/storage/catalog"
)

// Rooms is what the admin surface asks the room recorders.
type Rooms interface {
	// RoomConnected reports whether room is configured and whether its
	// feed is being recorded right now.
	RoomConnected(id string) (configured, connected bool)
	// CutSegment ends the room's running segment at the instant at (its
	// audio exactly, its video at the next keyframe): a session started or
	// stopped, and a segment belongs to one at most.
	CutSegment(id string, at time.Time)
}

// RoomCatalog is what the rooms API reads and writes in the catalog.
type RoomCatalog interface {
	List(catalog.Filter) ([]catalog.Recording, error)
	Gaps(room string, from, to time.Time) ([]catalog.Gap, error)
	Sessions(room string, from, to time.Time) ([]catalog.Session, error)
	StartSession(catalog.Session) (catalog.Session, error)
	StopSession(room string, at time.Time, by string) (catalog.Session, error)
}

var _ RoomCatalog = (*catalog.Catalog)(nil)

// maxNote bounds a session note.
const maxNote = 1000

type roomsHandler struct {
	cat   RoomCatalog
	rooms Rooms
	loc   *time.Location
	log   *slog.Logger
	max   int
	now   func() time.Time
}

// roomRoutes serves the interview-room routes; starting and stopping a
// session are changes, so they need the token and name their actor.
//
//	GET  /api/v1/rooms/{room}                segments, gaps and sessions (from, to, limit)
//	POST /api/v1/rooms/{room}/sessions       start an interview session
//	POST /api/v1/rooms/{room}/sessions/stop  stop the room's open session
func (s *Server) roomRoutes(cat RoomCatalog) {
	h := &roomsHandler{cat: cat, rooms: s.cfg.Rooms, loc: s.cfg.Location, log: s.log, max: s.cfg.MaxResults, now: s.cfg.Now}
	s.mux.HandleFunc("GET /api/v1/rooms/{room}", h.get)
	s.HandleMutation("POST /api/v1/rooms/{room}/sessions", RoleOperator, h.start)
	s.HandleMutation("POST /api/v1/rooms/{room}/sessions/stop", RoleOperator, h.stop)
}

func (h *roomsHandler) room(w http.ResponseWriter, r *http.Request) (string, bool) {
	room, err := id("room", r.PathValue("room"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return room, true
}

func (h *roomsHandler) get(w http.ResponseWriter, r *http.Request) {
	room, ok := h.room(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	q.Set("source", string(catalog.SourceRoom))
	q.Set("source_id", room)
	f, err := ParseFilter(q, h.loc)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := f.Limit
	if limit == 0 || limit > h.max {
		limit = h.max
	}
	f.Limit = limit + 1
	resp := api.RoomResponse{Room: room}
	resp.Configured, resp.Connected = h.rooms.RoomConnected(room)
	segs, err := h.cat.List(f)
	var gaps []catalog.Gap
	var sessions []catalog.Session
	if err == nil {
		if gaps, err = h.cat.Gaps(room, f.From, f.To); err == nil {
			sessions, err = h.cat.Sessions(room, f.From, f.To)
		}
	}
	if err != nil {
		h.log.Error("read room", "room", room, "err", err)
		writeError(w, http.StatusInternalServerError, "catalog read failed")
		return
	}
	if len(segs) > limit {
		segs, resp.Truncated = segs[:limit], true
	}
	resp.Segments = orEmpty(api.List(segs, APIRecording))
	resp.Gaps = orEmpty(api.List(gaps, APIGap))
	resp.Sessions = orEmpty(api.List(sessions, APISession))
	writeJSON(w, http.StatusOK, resp)
}

func (h *roomsHandler) start(w http.ResponseWriter, r *http.Request, actor string) {
	room, ok := h.room(w, r)
	if !ok {
		return
	}
	configured, connected := h.rooms.RoomConnected(room)
	if !configured {
		writeError(w, http.StatusNotFound, fmt.Sprintf("room %q is not configured", room))
		return
	}
	var req api.StartSessionRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	s, err := sessionFromRequest(room, req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.StartedBy, s.StartedAt = actor, h.now()
	// The cut is asked for before the session is written, at its instant:
	// audio that arrives while the catalog commits is the session's.
	h.rooms.CutSegment(room, s.StartedAt)
	s, err = h.cat.StartSession(s)
	if errors.Is(err, catalog.ErrSessionOpen) {
		writeError(w, http.StatusConflict, fmt.Sprintf("room %s already has an open session; stop it first", room))
		return
	}
	if err != nil {
		h.log.Error("start session", "room", room, "err", err)
		writeError(w, http.StatusInternalServerError, "catalog write failed")
		return
	}
	resp := api.SessionResponse{Session: APISession(s)}
	h.log.Info("interview session started", "room", room, "session", s.ID, "case", s.Case, "by", actor)
	if !connected {
		resp.Warning = fmt.Sprintf("room %s's camera feed is DOWN: nothing is being recorded for this session until it is back", room)
		h.log.Warn("interview session started while the room's feed is down", "room", room, "session", s.ID)
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (h *roomsHandler) stop(w http.ResponseWriter, r *http.Request, actor string) {
	room, ok := h.room(w, r)
	if !ok {
		return
	}
	at := h.now()
	h.rooms.CutSegment(room, at)
	s, err := h.cat.StopSession(room, at, actor)
	if errors.Is(err, catalog.ErrNoSession) {
		writeError(w, http.StatusConflict, fmt.Sprintf("room %s has no open session", room))
		return
	}
	if err != nil {
		h.log.Error("stop session", "room", room, "err", err)
		writeError(w, http.StatusInternalServerError, "catalog write failed")
		return
	}
	h.log.Info("interview session stopped", "room", room, "session", s.ID, "case", s.Case, "by", actor)
	writeJSON(w, http.StatusOK, api.SessionResponse{Session: APISession(s)})
}

func sessionFromRequest(room string, req api.StartSessionRequest) (catalog.Session, error) {
	s := catalog.Session{Room: room}
	var err error
	if s.Case, err = id("case", req.Case); err != nil {
		return s, err
	}
	if s.Subject, err = id("subject", req.Subject); err != nil {
		return s, err
	}
	if len(req.Officers) == 0 || len(req.Officers) > 16 {
		return s, errors.New("officers: want 1 to 16 officer numbers")
	}
	for _, o := range req.Officers {
		v, err := id("officer", o)
		if err != nil {
			return s, err
		}
		s.Officers = append(s.Officers, v)
	}
	if len(req.Note) > maxNote {
		return s, fmt.Errorf("note: at most %d bytes", maxNote)
	}
	for _, c := range req.Note {
		if c < 0x20 && c != '\n' || c == 0x7f || c == '\uFFFD' {
			return s, errors.New("note: control characters or invalid UTF-8")
		}
	}
	s.Note = req.Note
	return s, nil
}
