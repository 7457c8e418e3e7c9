package room

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseCredentials(t *testing.T) {
	for _, tc := range []struct {
		in, user, pass, err string
	}{
		{"recorder:Pa55:word\n", "recorder", "Pa55:word", ""},
		{"  recorder:pw  \n\n", "recorder", "pw", ""},
		{"", "", "", "empty"},
		{"recorder", "", "", "no ':'"},
		{":pw", "", "", "empty user"},
		{"recorder:", "", "", "empty password"},
		{"recorder:pw\nother:pw2", "", "", "more than one line"},
		{"recorder:p\x00w", "", "", "control characters"},
	} {
		c, err := ParseCredentials([]byte(tc.in))
		switch {
		case tc.err == "" && (err != nil || c.User != tc.user || c.Password != tc.pass):
			t.Errorf("%q: %v %v", tc.in, c.User, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		}
	}
}

// Credentials print without the secret, however they are printed.
func TestCredentialsNeverShown(t *testing.T) {
	c := Credentials{User: "recorder", Password: "Sup3rS3cret"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{c, Config{Publisher: c}, &Config{Publisher: c}} {
			if s := fmt.Sprintf(f, v); strings.Contains(s, "Sup3rS3cret") || strings.Contains(s, "recorder") {
				t.Errorf("%s shows the credentials: %s", f, s)
			}
		}
	}
}

func TestListenAddr(t *testing.T) {
	for _, tc := range []struct{ in, addr, path, err string }{
		{"rtsp://0.0.0.0:8554/room-3", "0.0.0.0:8554", "/room-3", ""},
		{"rtsp://[::]:8554/a/b", "[::]:8554", "/a/b", ""},
		{"rtsp://u:p@0.0.0.0:8554/room-3", "", "", "holds credentials"},
		{"rtsps://0.0.0.0:8554/room-3", "", "", `scheme "rtsps"`},
		{"rtsp://0.0.0.0/room-3", "", "", "want host:port"},
		{"rtsp://0.0.0.0:8554", "", "", "want a path"},
		{"rtsp://0.0.0.0:8554/", "", "", "want a path"},
		{"rtsp://0.0.0.0:8554/r?x=1", "", "", "only host:port and a path"},
	} {
		addr, path, err := ListenAddr(tc.in)
		switch {
		case tc.err == "" && (err != nil || addr != tc.addr || path != tc.path):
			t.Errorf("%s: %s %s %v", tc.in, addr, path, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "u:p") {
			t.Errorf("%s: the error shows the credentials: %v", tc.in, err)
		}
	}
}

// FuzzParseCredentials: whatever a credentials file holds, parsing never
// panics, a parsed pair is one the file names, and an error never quotes it.
func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{"recorder:pw\n", "a:b:c", "", ":", "\n\n", "user:\x7f", "ü:ß\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCredentials(b)
		if err != nil {
			if len(b) >= 6 && strings.Contains(err.Error(), string(b)) {
				t.Fatalf("error quotes the file: %v", err)
			}
			return
		}
		if c.User == "" || c.Password == "" || strings.Contains(c.User, ":") || !strings.Contains(string(b), c.User+":"+c.Password) {
			t.Fatalf("parsed %q:%q from %q", c.User, c.Password, b)
		}
	})
}
