package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// caller is who a request comes from, once authenticated.
type caller struct {
	name string
	role Role
	// session is set when the caller came through the status page's login;
	// a change then also needs the session's CSRF token.
	session *session
}

type callerKey struct{}

// callerOf is the authenticated caller of a request that passed the guard.
func callerOf(r *http.Request) (caller, bool) {
	p, ok := r.Context().Value(callerKey{}).(caller)
	return p, ok
}

// errNoCredentials: the request carried nothing to authenticate with.
var errNoCredentials = errors.New("not logged in: send a bearer token, use the admin socket or log in at /login")

// errBadCredentials says no more than that, whichever part was wrong.
var errBadCredentials = errors.New("wrong or disabled user or token")

// noUserHash is a bcrypt hash (at bcryptCost) of a secret no one holds.
const noUserHash = "$2a$11$wNg.82Mv5qN1jmbfh3pmheYOHn37hup5eVKwBckhe2oo208lmlVHS"

// users is who may log in, and the tokens proven so far.
type users struct {
	byName   map[string]User
	sharedOK bool
	shared   [sha256.Size]byte // SHA-256 of the deprecated shared token

	mu     sync.Mutex
	proven map[[sha256.Size]byte]string // SHA-256 of a verified token -> user
}

func newUsers(list []User, sharedToken string) *users {
	u := &users{byName: make(map[string]User, len(list)), proven: map[[sha256.Size]byte]string{}}
	for _, x := range list {
		u.byName[x.Name] = x
	}
	if sharedToken != "" {
		u.sharedOK, u.shared = true, sha256.Sum256([]byte(sharedToken))
	}
	return u
}

// byToken authenticates a bearer token: the shared token, compared in
// constant time, or "name:secret" checked against the name's bcrypt hash.
// A token once proven is remembered by its SHA-256, so bcrypt's cost is
// paid once per token rather than once per call.
func (u *users) byToken(tok string) (caller, error) {
	sum := sha256.Sum256([]byte(tok))
	if u.sharedOK && subtle.ConstantTimeCompare(sum[:], u.shared[:]) == 1 {
		return caller{name: SharedTokenUser, role: RoleSupervisor}, nil
	}
	name, secret, ok := splitToken(tok)
	if !ok {
		return caller{}, errBadCredentials
	}
	return u.check(name, secret, sum)
}

// check proves secret for name.
func (u *users) check(name, secret string, sum [sha256.Size]byte) (caller, error) {
	usr, ok := u.byName[name]
	if !ok || usr.Disabled {
		// As slow as a wrong secret, so timing tells no one who exists.
		_ = bcrypt.CompareHashAndPassword([]byte(noUserHash), []byte(secret))
		return caller{}, errBadCredentials
	}
	u.mu.Lock()
	known := u.proven[sum] == name
	u.mu.Unlock()
	if !known {
		if bcrypt.CompareHashAndPassword([]byte(usr.Hash), []byte(secret)) != nil {
			return caller{}, errBadCredentials
		}
		u.mu.Lock()
		if len(u.proven) < 10000 {
			u.proven[sum] = name
		}
		u.mu.Unlock()
	}
	return caller{name: usr.Name, role: usr.Role}, nil
}

// byLogin authenticates the login form: a name and that user's token, with
// or without the "name:" in front.
func (u *users) byLogin(name, tok string) (caller, error) {
	if name == SharedTokenUser {
		return u.byToken(tok)
	}
	if n, secret, ok := splitToken(tok); ok {
		if n != name {
			return caller{}, errBadCredentials
		}
		tok = secret
	}
	if tok == "" || len(tok) > 72 {
		return caller{}, errBadCredentials
	}
	return u.check(name, tok, sha256.Sum256([]byte(name+":"+tok)))
}

// byPeer is the custodian user with the same name as the Unix account on
// the other end of the admin socket.
func (u *users) byPeer(account string) (caller, error) {
	usr, ok := u.byName[account]
	if !ok || usr.Disabled {
		return caller{}, fmt.Errorf("local account %s is not an enabled custodian user", account)
	}
	return caller{name: usr.Name, role: usr.Role}, nil
}

// authenticate finds who a request comes from: the peer of the admin
// socket, a bearer token, or a status page session, in that order.
func (s *Server) authenticate(r *http.Request) (caller, error) {
	if uid, ok := peerUID(r.Context()); ok {
		account, err := s.cfg.AccountName(uid)
		if err != nil {
			return caller{}, fmt.Errorf("socket peer uid %d: %w", uid, err)
		}
		return s.users.byPeer(account)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return caller{}, errBadCredentials
		}
		return s.users.byToken(tok)
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		ses, ok := s.sessions.get(c.Value)
		if !ok {
			return caller{}, errors.New("session expired: log in again at /login")
		}
		if !readOnly(r.Method) && !ses.csrfOK(r) {
			return caller{}, errors.New("missing or wrong CSRF token")
		}
		return caller{name: ses.user, role: ses.role, session: ses}, nil
	}
	return caller{}, errNoCredentials
}
