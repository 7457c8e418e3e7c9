package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"custodian/admin/api"
	"custodian/storage/catalog"
)

// EventNote is a remark an administrator adds to the custody trail, about
// the station ("daily check done") or one recording ("reviewed with the
// case officer"). Notes change no record; they are evidence of supervision.
const EventNote = "note"

// MaxNoteLen bounds a note, in bytes.
const MaxNoteLen = 1000

func (s *Server) routes() {
	s.mux.HandleFunc("GET /api/v1/recordings/{id}", s.recording)
	s.HandleMutation("POST /api/v1/notes", RoleOperator, s.note)
	s.HandleMutation("POST /api/v1/recordings/{id}/notes", RoleOperator, s.note)
	s.retentionRoutes()
	s.exportRoutes()
	// Anything else is answered in JSON too.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "no such route")
	})
}

// loadRecording reads the recording named by the path's id, or answers the
// client (400, 404, 500) and returns false.
func (s *Server) loadRecording(w http.ResponseWriter, r *http.Request) (catalog.Recording, bool) {
	id, err := pathID(r, "id")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return catalog.Recording{}, false
	}
	rec, err := s.cat.Get(id)
	if errors.Is(err, catalog.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("recording %d not found", id))
		return catalog.Recording{}, false
	}
	if err != nil {
		s.log.Error("get recording", "id", id, "err", err)
		writeError(w, http.StatusInternalServerError, "catalog read failed")
		return catalog.Recording{}, false
	}
	return rec, true
}

func (s *Server) recording(w http.ResponseWriter, r *http.Request) {
	if rec, ok := s.loadRecording(w, r); ok {
		writeJSON(w, http.StatusOK, APIRecording(rec))
	}
}

func (s *Server) note(w http.ResponseWriter, r *http.Request, actor string) {
	var req api.NoteRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if err := checkNote(req.Text); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	e := catalog.Event{Type: EventNote, Actor: actor, Detail: req.Text}
	if r.PathValue("id") != "" {
		rec, ok := s.loadRecording(w, r)
		if !ok {
			return
		}
		e.Recording, e.SHA256 = rec.ID, rec.SHA256
	}
	if err := s.cat.Append(e); err != nil {
		s.log.Error("record note", "actor", actor, "err", err)
		writeError(w, http.StatusInternalServerError, "catalog write failed")
		return
	}
	s.log.Info("note recorded", "actor", actor, "id", e.Recording, "sha256", e.SHA256)
	writeJSON(w, http.StatusCreated, api.NoteResponse{Recorded: true, Recording: e.Recording, Actor: actor})
}

// checkNote accepts printable text (Chinese included) with line breaks.
func checkNote(t string) error {
	switch {
	case strings.TrimSpace(t) == "":
		return errors.New("text: required")
	case len(t) > MaxNoteLen:
		return fmt.Errorf("text: longer than %d bytes", MaxNoteLen)
	case !utf8.ValidString(t):
		return errors.New("text: not valid UTF-8")
	case strings.ContainsFunc(t, func(r rune) bool {
		return r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
	}):
		return errors.New("text: control characters are not allowed")
	}
	return nil
}
