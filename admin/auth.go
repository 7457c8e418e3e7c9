package admin

import (
	"crypto/sha256"
	"crypto/subtle"
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

// ActorHeader names the person behind a mutating call, for the custody trail.
// The token proves the caller may act; the header says who did.
const ActorHeader = "X-Custodian-Actor"

// MaxActorLen bounds an actor name.
const MaxActorLen = 64

// DefaultMaxBodyBytes bounds a request body; API bodies are small JSON.
const DefaultMaxBodyBytes = 64 << 10

// MutationHandler serves a state-changing route for an authenticated caller;
// actor is the validated name to record in the custody trail.
type MutationHandler func(w http.ResponseWriter, r *http.Request, actor string)

// HandleMutation registers a state-changing route, e.g. "POST
// /api/v1/holds". Every route that changes anything must come through here:
// it checks the actor header and bounds the body. The bearer token itself is
// checked for every non-GET request before routing (see guard), so even a
// route registered some other way is never open.
func (s *Server) HandleMutation(pattern string, h MutationHandler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		actor, err := ValidActor(r.Header.Get(ActorHeader))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		h(w, r, actor)
	})
}

// ValidActor checks a caller's name: 1-64 letters, digits, '.', '_', '-' or
// '@', not starting with '.', and not custodian's own name.
func ValidActor(a string) (string, error) {
	if a == "" {
		return "", fmt.Errorf("header %s is required: who is making this change?", ActorHeader)
	}
	if len(a) > MaxActorLen || a[0] == '.' {
		return "", fmt.Errorf("header %s: want 1-%d characters, not starting with '.'", ActorHeader, MaxActorLen)
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return "", fmt.Errorf("header %s: only letters, digits, '.', '_', '-' and '@'", ActorHeader)
		}
	}
	if strings.EqualFold(a, catalog.ActorCustodian) {
		return "", fmt.Errorf("header %s: %q is reserved for custodian's own events", ActorHeader, a)
	}
	return a, nil
}

// readOnly reports whether a method only reads.
func readOnly(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// guard wraps the whole surface: it turns a panic into a 500 JSON answer,
// and lets no request that could change anything past without the bearer
// token. It never logs the Authorization header or the query string.
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
			if s.tokenSum == nil {
				writeError(w, http.StatusForbidden, "changes are disabled: the daemon has no admin.token_file")
				return
			}
			if !s.authorized(r) {
				s.authFailures.Inc()
				s.log.Warn("rejected admin call without a valid token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
				w.Header().Set("WWW-Authenticate", `Bearer realm="custodian"`)
				writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// authorized compares hashes of the tokens in constant time, so neither the
// token's bytes nor its length leak through timing.
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum) == 1
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
