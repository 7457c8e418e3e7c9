package admin

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do. Each role may do everything the one below it
// may.
type Role int

// The roles, weakest first.
const (
	RoleNone Role = iota
	// RoleViewer reads: recordings, rooms, cases, status, the page.
	RoleViewer
	// RoleOperator also places holds, links cases, runs interview sessions
	// and writes notes.
	RoleOperator
	// RoleSupervisor also approves releases and restores.
	RoleSupervisor
)

var roleNames = [...]string{RoleNone: "none", RoleViewer: "viewer", RoleOperator: "operator", RoleSupervisor: "supervisor"}

func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return "none"
	}
	return roleNames[r]
}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if r != int(RoleNone) && n == s {
			return Role(r), nil
		}
	}
	return RoleNone, fmt.Errorf("role %q: want viewer, operator or supervisor", truncate(s, 20))
}

// SharedTokenUser is the name the deprecated shared admin.token_file acts
// under, as a supervisor, for one release.
const SharedTokenUser = "shared-token"

// User is one line of the users file: "name role bcrypt-hash", and
// "disabled" after them for an account that may no longer log in.
type User struct {
	Name     string
	Role     Role
	Hash     string // bcrypt of the secret part of the user's token
	Disabled bool
}

// bcryptCost is the work factor of a token's hash. Tokens are 256 random
// bits, so the hash guards a leaked users file, not a guessable password;
// a verified token is cached, so the cost is paid once per token.
const bcryptCost = 11

// ParseUsers reads a users file: one user per line, '#' starts a comment.
// Every problem is reported with its line number; no error quotes a hash.
func ParseUsers(b []byte) ([]User, error) {
	var users []User
	var errs []error
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		u, err := parseUser(f)
		if err == nil && seen[strings.ToLower(u.Name)] {
			err = fmt.Errorf("user %s is listed twice", u.Name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		seen[strings.ToLower(u.Name)] = true
		users = append(users, u)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return users, errors.Join(errs...)
}

func parseUser(f []string) (User, error) {
	if len(f) < 3 || len(f) > 4 || len(f) == 4 && f[3] != "disabled" {
		return User{}, errors.New(`want "name role hash", then "disabled" for a disabled user`)
	}
	name, err := validName(f[0])
	if err != nil {
		return User{}, err
	}
	role, err := ParseRole(f[1])
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", name, err)
	}
	if _, err := bcrypt.Cost([]byte(f[2])); err != nil {
		return User{}, fmt.Errorf("user %s: the third field is not a bcrypt hash", name)
	}
	return User{Name: name, Role: role, Hash: f[2], Disabled: len(f) == 4}, nil
}

// validName checks a user's name: what ValidActor allows, minus the name
// of the shared token.
func validName(name string) (string, error) {
	n, err := checkName(name)
	if err == nil && strings.EqualFold(n, SharedTokenUser) {
		err = fmt.Errorf("name %q is reserved for the shared token", SharedTokenUser)
	}
	return n, err
}

// FormatUser is u's line in the users file.
func FormatUser(u User) string {
	line := u.Name + " " + u.Role.String() + " " + u.Hash
	if u.Disabled {
		line += " disabled"
	}
	return line
}

// NewToken makes a user's token, "name:secret", and the hash of it to keep.
// The token is shown once and never stored.
func NewToken(name string) (token, hash string, err error) {
	if _, err := validName(name); err != nil {
		return "", "", err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	secret := base64.RawURLEncoding.EncodeToString(b)
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcryptCost)
	if err != nil {
		return "", "", err
	}
	return name + ":" + secret, string(h), nil
}

// splitToken reads "name:secret".
func splitToken(tok string) (name, secret string, ok bool) {
	name, secret, ok = strings.Cut(tok, ":")
	return name, secret, ok && name != "" && secret != "" && len(secret) <= 72
}
