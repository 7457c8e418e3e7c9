package room

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// Credentials are the user and password a pushing recorder must present.
// They are a secret: every way of printing them shows neither.
type Credentials struct {
	User, Password string
}

// String implements fmt.Stringer without the secret.
func (c Credentials) String() string {
	if c.User == "" {
		return "(none)"
	}
	return "(redacted)"
}

// GoString implements fmt.GoStringer without the secret.
func (c Credentials) GoString() string { return "room.Credentials" + c.String() }

// Set reports whether there are credentials at all.
func (c Credentials) Set() bool { return c.User != "" }

// ParseCredentials reads a credentials file: one line "user:password"
// (surrounding blank space and a final newline are ignored). The user may
// not contain ':'; the password may. Neither may be empty or hold control
// characters. Its errors never quote the content.
func ParseCredentials(b []byte) (Credentials, error) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return Credentials{}, errors.New("empty; want one line user:password")
	}
	if strings.ContainsAny(s, "\r\n") {
		return Credentials{}, errors.New("more than one line; want one line user:password")
	}
	user, pass, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return Credentials{}, errors.New("no ':'; want user:password")
	case user == "":
		return Credentials{}, errors.New("empty user; want user:password")
	case pass == "":
		return Credentials{}, errors.New("empty password; want user:password")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return Credentials{}, errors.New("control characters; want printable user:password")
	}
	return Credentials{User: user, Password: pass}, nil
}

// ListenAddr splits a listen URL (rtsp://host:port/path) into the address
// to listen on and the room's path. Its errors may quote the URL: a listen
// URL with userinfo is refused before it is shown.
func ListenAddr(listen string) (addr, path string, err error) {
	u, err := url.Parse(listen)
	switch {
	case err != nil:
		return "", "", errors.New("not a URL")
	case u.User != nil:
		return "", "", errors.New("holds credentials; put them in credentials_file")
	case u.Scheme != "rtsp":
		return "", "", fmt.Errorf("scheme %q: want rtsp (rtsps is not offered for pushes)", u.Scheme)
	case u.Port() == "":
		return "", "", fmt.Errorf("%s: want host:port, such as rtsp://0.0.0.0:8554/room-3", listen)
	case u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", "", fmt.Errorf("%s: want only host:port and a path", listen)
	case len(u.Path) < 2 || strings.HasSuffix(u.Path, "/") || strings.ContainsAny(u.Path, " \t"):
		return "", "", fmt.Errorf("%s: want a path naming the room, such as /room-3", listen)
	}
	return u.Host, u.Path, nil
}
