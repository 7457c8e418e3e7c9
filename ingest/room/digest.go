package room

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
)

// digestAuth answers digest challenges that ask for qop=auth (RFC 7616),
// which gortsplib v4's client does not: it reads the challenge from the
// client's responses (OnResponse) and rewrites the Authorization header of
// every request the client sends after it (OnRequest, called after the
// client set its own header and before the request is written). A camera
// without qop is left to the client. The credentials are the room URL's;
// nothing of them is logged.
type digestAuth struct {
	user, pass string
	cnonce     func() string

	mu sync.Mutex
	ch *challenge // the camera's latest qop challenge; nil: none
	nc uint32     // requests answered under ch
}

// challenge is a digest WWW-Authenticate that offers qop=auth.
type challenge struct {
	realm, nonce, opaque string
	sha256               bool
}

func newDigestAuth(user, pass string) *digestAuth {
	return &digestAuth{user: user, pass: pass, cnonce: randomCnonce}
}

func randomCnonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// onResponse takes a 401's qop challenge, preferring SHA-256.
func (a *digestAuth) onResponse(res *base.Response) {
	if res.StatusCode != base.StatusUnauthorized {
		return
	}
	var best *challenge
	for _, v := range res.Header["WWW-Authenticate"] {
		if c, ok := parseChallenge(v); ok && (best == nil || c.sha256 && !best.sha256) {
			best = &c
		}
	}
	if best == nil {
		return
	}
	a.mu.Lock()
	a.ch, a.nc = best, 0
	a.mu.Unlock()
}

// onRequest answers the challenge in req's Authorization header.
func (a *digestAuth) onRequest(req *base.Request) {
	a.mu.Lock()
	ch := a.ch
	a.nc++
	nc := a.nc
	a.mu.Unlock()
	if ch == nil || req.Header == nil || strings.ContainsAny(a.user, "\"\\\r\n") {
		return // no qop challenge, or a name a header cannot carry: the client's answer stands
	}
	uri := req.URL.CloneWithoutCredentials().String()
	req.Header["Authorization"] = base.HeaderValue{ch.authorization(a.user, a.pass, string(req.Method), uri, nc, a.cnonce())}
}

// authorization is the Authorization header value for one request.
func (c *challenge) authorization(user, pass, method, uri string, nc uint32, cnonce string) string {
	algo, h := "MD5", md5.New
	if c.sha256 {
		algo, h = "SHA-256", sha256.New
	}
	ncs := fmt.Sprintf("%08x", nc)
	ha1 := hexOf(h, user+":"+c.realm+":"+pass)
	ha2 := hexOf(h, method+":"+uri)
	resp := hexOf(h, ha1+":"+c.nonce+":"+ncs+":"+cnonce+":auth:"+ha2)
	v := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=%s, qop=auth, nc=%s, cnonce="%s", response="%s"`,
		user, c.realm, c.nonce, uri, algo, ncs, cnonce, resp)
	if c.opaque != "" {
		v += `, opaque="` + c.opaque + `"`
	}
	return v
}

func hexOf(h func() hash.Hash, s string) string {
	d := h()
	d.Write([]byte(s))
	return hex.EncodeToString(d.Sum(nil))
}

// parseChallenge reads a WWW-Authenticate value: a Digest challenge with
// qop offering "auth" and an algorithm of MD5 or SHA-256 (or none, MD5).
func parseChallenge(v string) (challenge, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return challenge{}, false
	}
	params, ok := authParams(rest)
	if !ok || params["realm"] == "" || params["nonce"] == "" {
		return challenge{}, false
	}
	qopAuth := false
	for _, q := range strings.Split(params["qop"], ",") {
		qopAuth = qopAuth || strings.EqualFold(strings.TrimSpace(q), "auth")
	}
	c := challenge{realm: params["realm"], nonce: params["nonce"], opaque: params["opaque"]}
	switch algo := strings.ToUpper(params["algorithm"]); algo {
	case "", "MD5":
	case "SHA-256":
		c.sha256 = true
	default:
		return challenge{}, false
	}
	return c, qopAuth
}

// authParams splits `a=b, c="d, e"` into its parameters, names in lower
// case. A value may not hold a quote or a control character: such a
// challenge is refused rather than echoed into a request.
func authParams(s string) (map[string]string, bool) {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeft(strings.TrimSpace(s), ",") {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, false
		}
		name = strings.ToLower(strings.TrimSpace(name))
		rest = strings.TrimLeft(rest, " ")
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, false
			}
			val, s = rest[1:1+end], strings.TrimLeft(rest[2+end:], " ")
			if s != "" && s[0] != ',' {
				return nil, false
			}
		} else {
			val, s, _ = strings.Cut(rest, ",")
			val = strings.TrimSpace(val)
		}
		if name == "" || strings.ContainsFunc(val, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' || r == '"' }) {
			return nil, false
		}
		out[name] = val
	}
	return out, true
}
