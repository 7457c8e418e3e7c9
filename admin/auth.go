package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"custodian/storage/catalog"
)

// ActorHeader was how a caller named themselves for the custody trail. The
// trail now records who authenticated; a header that names anyone else is
// refused, so an old client cannot believe it acted in another name.
const ActorHeader = "X-Custodian-Actor"

// CSRFHeader carries the session's CSRF token on a change made from the
// status page's session; a form sends it as the field "csrf".
const CSRFHeader = "X-CSRF-Token"

// MaxActorLen bounds an actor name.
const MaxActorLen = 64

// DefaultMaxBodyBytes bounds a request body; API bodies are small JSON.
const DefaultMaxBodyBytes = 64 << 10

// MutationHandler serves a state-changing route for an authenticated caller;
// actor is the authenticated name to record in the custody trail.
type MutationHandler func(w http.ResponseWriter, r *http.Request, actor string)

// HandleMutation registers a state-changing route, e.g. "POST
// /api/v1/holds", for callers with at least role. Every route that changes
// anything must come through here. Authentication itself happens for every
// request before routing (see guard), so even a route registered some other
// way is never open.
func (s *Server) HandleMutation(pattern string, role Role, h MutationHandler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, ok := callerOf(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		}
		if p.role < role {
			s.log.Warn("refused admin call above the caller's role", "user", p.name, "role", p.role.String(), "path", r.URL.Path)
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s needs the %s role; %s is %s", r.URL.Path, role, p.name, p.role))
			return
		}
		if a := r.Header.Get(ActorHeader); a != "" && a != p.name {
			s.log.Warn("refused admin call naming another actor", "user", p.name, "path", r.URL.Path)
			writeError(w, http.StatusForbidden, fmt.Sprintf("header %s does not name the authenticated user %s; the custody trail records who authenticated", ActorHeader, p.name))
			return
		}
		h(w, r, p.name)
	})
}

// ValidActor checks a caller's name: 1-64 letters, digits, '.', '_', '-' or
// '@', not starting with '.', and not custodian's own name.
func ValidActor(a string) (string, error) {
	if a == "" {
		return "", fmt.Errorf("header %s is required: who is making this change?", ActorHeader)
	}
	if _, err := checkName(a); err != nil {
		return "", fmt.Errorf("header %s: %w", ActorHeader, err)
	}
	return a, nil
}

// checkName checks a user's name: 1-64 letters, digits, '.', '_', '-' or
// '@', not starting with '.', and not custodian's own name.
func checkName(a string) (string, error) {
	if a == "" || len(a) > MaxActorLen || a[0] == '.' {
		return "", fmt.Errorf("want 1-%d characters, not starting with '.'", MaxActorLen)
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return "", errors.New("only letters, digits, '.', '_', '-' and '@'")
		}
	}
	if strings.EqualFold(a, catalog.ActorCustodian) {
		return "", fmt.Errorf("%q is reserved for custodian's own events", a)
	}
	return a, nil
}

// readOnly reports whether a method only reads.
func readOnly(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// public reports whether a request may be answered without a login: the
// health check and metrics (which name nobody), the page's static files and
// the login form.
func public(r *http.Request) bool {
	p := r.URL.Path
	return readOnly(r.Method) && (p == "/healthz" || p == "/metrics" || strings.HasPrefix(p, "/static/")) ||
		p == loginPath && (readOnly(r.Method) || r.Method == http.MethodPost)
}

// guard wraps the whole surface: it turns a panic into a 500 JSON answer,
// and lets no request past that is not public or authenticated. It never
// logs the Authorization header, a cookie or the query string.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // a sentinel panic value, never wrapped
				panic(v)
			}
			s.log.Error("panic serving admin request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error")
		}()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !readOnly(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		if public(r) {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.authenticate(r)
		if err != nil {
			s.refuse(w, r, err)
			return
		}
		if !readOnly(r.Method) && p.role < RoleOperator && r.URL.Path != logoutPath {
			writeError(w, http.StatusForbidden, p.name+" is a viewer: viewers change nothing")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, p)))
	})
}

// refuse answers a request that did not authenticate: the status page
// sends the browser to the login form, everything else gets a 401.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	s.authFailures.Inc()
	if !errors.Is(err, errNoCredentials) {
		s.log.Warn("refused admin call", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err.Error())
	}
	if r.URL.Path == "/" && readOnly(r.Method) {
		http.Redirect(w, r, loginPath, http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="custodian"`)
	writeError(w, http.StatusUnauthorized, err.Error())
}

// decodeJSON reads a request body into v strictly: JSON only, one value, no
// unknown fields, within the body limit. It answers the client itself and
// returns false when the body is not acceptable.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "want Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		if _, err2 := dec.Token(); !errors.Is(err2, io.EOF) {
			err = errors.New("trailing data after the JSON value")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "empty body: want a JSON object")
	default:
		writeError(w, http.StatusBadRequest, "malformed JSON: "+jsonProblem(err))
	}
	return false
}

// jsonProblem describes a decode error without echoing the client's input
// at length.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q: want %s", truncate(typ.Field, 40), typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + truncate(strings.TrimPrefix(err.Error(), "json: unknown field "), 42)
	default:
		return truncate(err.Error(), 80)
	}
}

// pathID reads a numeric id from a path parameter. Only digits pass, so no
// id can name a path, a key prefix or anything but one record.
func pathID(r *http.Request, name string) (uint64, error) {
	v := r.PathValue(name)
	if v == "" || len(v) > 20 || strings.Trim(v, "0123456789") != "" {
		return 0, fmt.Errorf("%s: want a decimal number", name)
	}
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("%s: want a decimal number from 1", name)
	}
	return id, nil
}
