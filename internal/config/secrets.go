package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"custodian/ingest/room"
)

// Secrets are what the files a config names hold: read apart from parsing,
// so that a Config holds and shows none of it.
type Secrets struct {
	// ArchiveAccessKey and ArchiveSecretKey are the archive's credentials;
	// empty in local-only mode.
	ArchiveAccessKey, ArchiveSecretKey Secret
	// RoomURLs are the rooms' RTSP URLs by room id, from url_file or url.
	RoomURLs map[string]Secret
	// RoomCredentials are what the recorders of the rooms that listen push
	// with, by room id, from credentials_file.
	RoomCredentials map[string]room.Credentials
}

// ReadSecrets reads the archive's key files and the rooms' url_file and
// credentials_file. The
// error lists every problem by key path and never holds a file's content.
func (c *Config) ReadSecrets() (Secrets, error) {
	s, p := c.readSecrets()
	return s, p.err()
}

// readSecrets skips what validate reports: a missing path, or a room with
// both url and url_file.
func (c *Config) readSecrets() (Secrets, problems) {
	var s Secrets
	var p problems
	if a := c.Archive; a != nil {
		read := func(key, path string) Secret {
			if path == "" {
				return ""
			}
			v, err := readSecret(path)
			if err != nil {
				p.add("archive."+key, "%v", err)
			}
			return v
		}
		s.ArchiveAccessKey = read("access_key_file", a.AccessKeyFile)
		s.ArchiveSecretKey = read("secret_key_file", a.SecretKeyFile)
	}
	s.RoomURLs = make(map[string]Secret, len(c.Rooms))
	s.RoomCredentials = map[string]room.Credentials{}
	for i, r := range c.Rooms {
		if r.Listen != "" && r.CredentialsFile != "" {
			at := fmt.Sprintf("rooms[%d].credentials_file", i)
			if b, err := readPrivate(r.CredentialsFile); err != nil {
				p.add(at, "%v", err)
			} else if cred, err := room.ParseCredentials(b); err != nil {
				p.add(at, "%s: %v", r.CredentialsFile, err)
			} else {
				s.RoomCredentials[r.ID] = cred
			}
		}
		if r.URLFile == "" || r.URL != "" {
			s.RoomURLs[r.ID] = r.URL
			continue
		}
		at := fmt.Sprintf("rooms[%d].url_file", i)
		b, err := readPrivate(r.URLFile)
		if err != nil {
			p.add(at, "%v", err)
			continue
		}
		u := Secret(strings.TrimSpace(string(b)))
		if msg := checkRoomURL(u); msg != "" {
			p.add(at, "%s", msg)
		}
		s.RoomURLs[r.ID] = u
	}
	return s, p
}

// readSecret reads a credential file. Its errors name the file and never
// any of its content.
func readSecret(path string) (Secret, error) {
	b, err := readPrivate(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s: more than one line", path)
	}
	return Secret(s), nil
}

// readPrivate reads a file only its owner may read or change, as sshd
// does for keys: a secret others can read is refused, with the fix. Its
// errors name the file and never any of its content.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %04o lets other users read or change it; run chmod 600 %s (or pass it with systemd's LoadCredential=)", path, m, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s: larger than %d bytes; not a secret file", path, maxSecretFile)
	}
	return b, nil
}

// maxSecretFile bounds what is read of a secret file.
const maxSecretFile = 64 << 10

// MinTokenLen is the shortest admin token accepted; `openssl rand -hex 32`
// makes a good one.
const MinTokenLen = 16

// ReadToken reads the admin token file. It is not part of ReadSecrets nor
// checked by Load: a command that changes nothing needs no token, and under
// systemd the file (a credential) exists only while the daemon runs. The
// error never quotes the file.
func (a AdminConfig) ReadToken() (string, error) {
	b, err := readPrivate(a.TokenFile)
	if err != nil {
		return "", fmt.Errorf("admin.token_file %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < MinTokenLen {
		return "", fmt.Errorf("admin.token_file %s: the token is shorter than %d characters", a.TokenFile, MinTokenLen)
	}
	for _, r := range tok {
		if r <= ' ' || r > '~' {
			return "", fmt.Errorf("admin.token_file %s: the token must be printable ASCII without spaces", a.TokenFile)
		}
	}
	return tok, nil
}

// ReadUsersFile reads admin.users_file, refusing it while others may read
// it. Like the token it is read apart from Load: under systemd the file (a
// credential) exists only while the daemon runs. The error never quotes it.
func (a AdminConfig) ReadUsersFile() ([]byte, error) {
	b, err := readPrivate(a.UsersFile)
	if err != nil {
		return nil, fmt.Errorf("admin.users_file %w", err)
	}
	return b, nil
}

// ReadTokenFile reads a person's API token from a file only they may read
// (the CLI's --token-file). The error names the file, never its content.
func ReadTokenFile(path string) (string, error) {
	tok, err := AdminConfig{TokenFile: path}.ReadToken()
	if err != nil {
		return "", errors.New(strings.Replace(err.Error(), "admin.token_file", "token file", 1))
	}
	return tok, nil
}
