package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// The login form and the session it opens for the status page.
const (
	loginPath     = "/login"
	logoutPath    = "/logout"
	sessionCookie = "custodian_session"
	// DefaultSessionTTL is how long a status page login lasts.
	DefaultSessionTTL = 8 * time.Hour
	// maxSessions bounds the sessions kept; the oldest make way.
	maxSessions = 1000
)

// session is one login of the status page.
type session struct {
	user    string
	role    Role
	csrf    string
	expires time.Time
}

// csrfOK checks the session's CSRF token on a change: SameSite=Strict
// already keeps other sites' forms from sending the cookie, and this
// keeps it so should a browser or proxy not honour it.
func (s *session) csrfOK(r *http.Request) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// sessions are the open logins, by their cookie's value.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, byID: map[string]*session{}}
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// open starts a session for c and returns its id.
func (ss *sessions) open(c caller) (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	var oldest string
	for id, s := range ss.byID {
		if !now.Before(s.expires) {
			delete(ss.byID, id)
		} else if oldest == "" || s.expires.Before(ss.byID[oldest].expires) {
			oldest = id
		}
	}
	if len(ss.byID) >= maxSessions {
		delete(ss.byID, oldest)
	}
	id := randomString()
	s := &session{user: c.name, role: c.role, csrf: randomString(), expires: now.Add(ss.ttl)}
	ss.byID[id] = s
	return id, s
}

// get is the live session with id.
func (ss *sessions) get(id string) (*session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if ok && !ss.now().Before(s.expires) {
		delete(ss.byID, id)
		return nil, false
	}
	return s, ok
}

func (ss *sessions) close(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}
