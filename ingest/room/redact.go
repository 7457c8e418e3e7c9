package room

import (
	"net/url"
	"strings"
)

// Redacted returns u without its userinfo (and, if it is not a URL, a
// placeholder): the form of a room URL that may be logged or shown.
func Redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable url)"
	}
	p.User = nil
	return p.String()
}

// Redact removes the userinfo of rawURL, raw and decoded, from s.
func Redact(s, rawURL string) string {
	p, err := url.Parse(rawURL)
	if err != nil || p.User == nil {
		return s
	}
	var secrets []string
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			secrets = append(secrets, rest[:at])
		}
	}
	secrets = append(secrets, p.User.String())
	if name := p.User.Username(); len(name) >= 4 {
		secrets = append(secrets, name) // shorter ones would garble every message
	}
	if pw, ok := p.User.Password(); ok {
		secrets = append(secrets, pw)
	}
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}
