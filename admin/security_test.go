package admin

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/admin/api"
	"custodian/internal/testlog"
	"custodian/storage/catalog"
)

// testToken is the secret no output may ever contain.
const testToken = "tok-SECRET-4f9a8c7e1d2b3a5968d0e1f2"

type call struct {
	method, path, body string
	header             map[string]string
}

func (c call) do(t *testing.T, base string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// jsonError checks a 4xx/5xx answer is a JSON error object.
func jsonError(t *testing.T, h http.Header, body string) string {
	t.Helper()
	var e api.ErrorResponse
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, body %q", ct, body)
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Errorf("error body %q is not a JSON error", body)
	}
	return e.Error
}

func securedServer(t *testing.T, token string) (*httptest.Server, *catalog.Catalog, *testlog.Buffer) {
	t.Helper()
	cat := openCatalog(t)
	populate(t, cat)
	cfg := pageConfig()
	cfg.Token = token
	cfg.MaxBodyBytes = 4 << 10
	srv, logs := newTestServer(t, cfg, cat)
	srv.mux.HandleFunc("GET /test/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, cat, logs
}

func eventCount(t *testing.T, cat *catalog.Catalog) int {
	t.Helper()
	n, err := cat.VerifyEvents()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var mutations = []call{
	{method: "POST", path: "/api/v1/notes", body: `{"text":"daily check"}`},
	{method: "POST", path: "/api/v1/recordings/1/notes", body: `{"text":"reviewed"}`},
	// Not routes (yet): they must be refused before routing, not found after.
	{method: "DELETE", path: "/api/v1/recordings/1"},
	{method: "PUT", path: "/api/v1/holds/1", body: `{}`},
	{method: "PATCH", path: "/", body: `{}`},
	{method: "OPTIONS", path: "/api/v1/notes"},
}

func TestMutationsNeedToken(t *testing.T) {
	ts, cat, _ := securedServer(t, testToken)
	before := eventCount(t, cat)
	bad := map[string]string{
		"no header":        "",
		"wrong token":      "Bearer wrong",
		"token prefix":     "Bearer " + testToken[:len(testToken)-1],
		"token plus a bit": "Bearer " + testToken + "x",
		"lower-case type":  "bearer " + testToken,
		"basic auth":       "Basic " + testToken,
		"empty bearer":     "Bearer ",
		"token alone":      testToken,
		"user token alone": strings.TrimPrefix(wangToken, "wang.li:"),
		"other's secret":   "wang.li:" + strings.TrimPrefix(liToken, "li.na:"),
		"disabled user":    "Bearer " + offToken,
	}
	for _, m := range mutations {
		for name, auth := range bad {
			t.Run(m.method+" "+m.path+"/"+name, func(t *testing.T) {
				c := m
				c.header = map[string]string{ActorHeader: "wang.li"}
				if auth != "" {
					c.header["Authorization"] = auth
				}
				code, h, body := c.do(t, ts.URL)
				if code != http.StatusUnauthorized {
					t.Fatalf("%d %s, want 401", code, body)
				}
				if msg := jsonError(t, h, body); msg != errBadCredentials.Error() && msg != errNoCredentials.Error() || h.Get("WWW-Authenticate") == "" {
					t.Errorf("body %q, WWW-Authenticate %q", body, h.Get("WWW-Authenticate"))
				}
			})
		}
	}
	if n := eventCount(t, cat); n != before {
		t.Fatalf("refused calls changed the custody trail: %d events, had %d", n, before)
	}
	// The right token and a name record the note with that name.
	c := call{method: "POST", path: "/api/v1/recordings/2/notes", body: `{"text":"reviewed with the case officer 案件"}`,
		header: map[string]string{"Authorization": "Bearer " + wangToken, ActorHeader: "wang.li"}}
	code, _, body := c.do(t, ts.URL)
	if code != http.StatusCreated {
		t.Fatalf("authorised note: %d %s", code, body)
	}
	ev, err := cat.RecentEvents(1)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := cat.Get(2)
	if ev[0].Type != EventNote || ev[0].Actor != "wang.li" || ev[0].Recording != 2 || ev[0].SHA256 != rec.SHA256 ||
		ev[0].Detail != "reviewed with the case officer 案件" {
		t.Fatalf("event %+v", ev[0])
	}
	if eventCount(t, cat) != before+1 {
		t.Fatal("the custody trail did not grow by one")
	}
}

// TestNothingOpenWithoutUsers: a daemon with neither users nor the shared
// token answers nothing but the public routes.
func TestNothingOpenWithoutUsers(t *testing.T) {
	cat := openCatalog(t)
	populate(t, cat)
	srv, _ := newTestServer(t, Config{Station: "st01", Users: []User{}}, cat)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	before := eventCount(t, cat)
	for _, m := range append(mutations, call{method: "GET", path: "/api/v1/recordings"}) {
		c := m
		c.header = map[string]string{"Authorization": "Bearer ", ActorHeader: "wang.li"}
		code, h, body := c.do(t, ts.URL)
		if code != http.StatusUnauthorized {
			t.Errorf("%s %s: %d, want 401", m.method, m.path, code)
		}
		jsonError(t, h, body)
	}
	if eventCount(t, cat) != before {
		t.Fatal("the custody trail changed")
	}
}

func TestBadRequests(t *testing.T) {
	ts, cat, _ := securedServer(t, testToken)
	before := eventCount(t, cat)
	auth := func(actor string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + wangToken, ActorHeader: actor}
	}
	tests := []struct {
		name string
		c    call
		code int
		msg  string
	}{
		{"actor traversal", call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}`, header: auth("../../etc")}, 403, "header X-Custodian-Actor does not name the authenticated user wang.li; the custody trail records who authenticated"},
		{"actor with space", call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}`, header: auth("wang li")}, 403, "header X-Custodian-Actor does not name the authenticated user wang.li; the custody trail records who authenticated"},
		{"actor too long", call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}`, header: auth(strings.Repeat("a", 65))}, 403, "header X-Custodian-Actor does not name the authenticated user wang.li; the custody trail records who authenticated"},
		{"actor impersonates custodian", call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}`, header: auth("Custodian")}, 403, "header X-Custodian-Actor does not name the authenticated user wang.li; the custody trail records who authenticated"},
		{"not JSON", call{method: "POST", path: "/api/v1/notes", body: `text=x`, header: map[string]string{"Authorization": "Bearer " + wangToken, ActorHeader: "wang.li", "Content-Type": "application/x-www-form-urlencoded"}}, 415, "want Content-Type: application/json"},
		{"malformed JSON", call{method: "POST", path: "/api/v1/notes", body: `{"text":`, header: auth("wang.li")}, 400, "malformed JSON: unexpected EOF"},
		{"syntax error", call{method: "POST", path: "/api/v1/notes", body: `{"text" "x"}`, header: auth("wang.li")}, 400, "malformed JSON: syntax error at byte 9"},
		{"wrong type", call{method: "POST", path: "/api/v1/notes", body: `{"text":42}`, header: auth("wang.li")}, 400, `malformed JSON: field "text": want string`},
		{"unknown field", call{method: "POST", path: "/api/v1/notes", body: `{"text":"x","admin":true}`, header: auth("wang.li")}, 400, `malformed JSON: unknown field "admin"`},
		{"two values", call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}{"text":"y"}`, header: auth("wang.li")}, 400, "malformed JSON: more than one JSON value"},
		{"trailing garbage", call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"} ]`, header: auth("wang.li")}, 400, "malformed JSON: trailing data after the JSON value"},
		{"empty body", call{method: "POST", path: "/api/v1/notes", header: map[string]string{"Authorization": "Bearer " + wangToken, ActorHeader: "wang.li", "Content-Type": "application/json"}}, 400, "empty body: want a JSON object"},
		{"oversized body", call{method: "POST", path: "/api/v1/notes", body: `{"text":"` + strings.Repeat("a", 5000) + `"}`, header: auth("wang.li")}, 413, "body larger than 4096 bytes"},
		{"note too long", call{method: "POST", path: "/api/v1/notes", body: `{"text":"` + strings.Repeat("a", 1001) + `"}`, header: auth("wang.li")}, 400, "text: longer than 1000 bytes"},
		{"empty note", call{method: "POST", path: "/api/v1/notes", body: `{"text":"  "}`, header: auth("wang.li")}, 400, "text: required"},
		{"control characters", call{method: "POST", path: "/api/v1/notes", body: `{"text":"ok\u001b[31mred"}`, header: auth("wang.li")}, 400, "text: control characters are not allowed"},
		{"bidi override", call{method: "POST", path: "/api/v1/notes", body: `{"text":"ok\u202egnp.exe"}`, header: auth("wang.li")}, 400, "text: control characters are not allowed"},
		{"id traversal", call{method: "POST", path: "/api/v1/recordings/..%2F..%2Fetc%2Fpasswd/notes", body: `{"text":"x"}`, header: auth("wang.li")}, 400, "id: want a decimal number"},
		{"id zero", call{method: "POST", path: "/api/v1/recordings/0/notes", body: `{"text":"x"}`, header: auth("wang.li")}, 400, "id: want a decimal number from 1"},
		{"id overflow", call{method: "POST", path: "/api/v1/recordings/99999999999999999999/notes", body: `{"text":"x"}`, header: auth("wang.li")}, 400, "id: want a decimal number from 1"},
		{"id negative", call{method: "POST", path: "/api/v1/recordings/-1/notes", body: `{"text":"x"}`, header: auth("wang.li")}, 400, "id: want a decimal number"},
		{"no such recording", call{method: "POST", path: "/api/v1/recordings/99/notes", body: `{"text":"x"}`, header: auth("wang.li")}, 404, "recording 99 not found"},
		{"get traversal", call{method: "GET", path: "/api/v1/recordings/..%2f..%2fcustodian.db"}, 400, "id: want a decimal number"},
		{"get hex id", call{method: "GET", path: "/api/v1/recordings/0x1"}, 400, "id: want a decimal number"},
		{"get missing", call{method: "GET", path: "/api/v1/recordings/77"}, 404, "recording 77 not found"},
		{"bad limit", call{method: "GET", path: "/api/v1/recordings?limit=-5"}, 400, "limit: want a positive number"},
		{"bad time", call{method: "GET", path: "/api/v1/recordings?from=yesterday"}, 400, `time "yesterday": want 2026-11-21, 2026-11-21T08:30 or RFC 3339`},
		{"unknown parameter", call{method: "GET", path: "/api/v1/recordings?officr=1"}, 400, `unknown parameter "officr"`},
		{"repeated parameter", call{method: "GET", path: "/api/v1/recordings?state=staged&state=verified"}, 400, `parameter "state" given 2 times`},
		{"officer traversal", call{method: "GET", path: "/api/v1/recordings?officer=..%2F..%2Fetc"}, 400, "officer: only letters, digits, '.', '_' and '-'"},
		{"no route", call{method: "GET", path: "/api/v2/anything"}, 404, "no such route"},
		{"static traversal", call{method: "GET", path: "/static/..%2f..%2fpage.go"}, 404, ""},
		{"panic", call{method: "GET", path: "/test/panic"}, 500, "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.c.header == nil {
				tc.c.header = map[string]string{"Authorization": "Bearer " + zhaoToken}
			}
			code, h, body := tc.c.do(t, ts.URL)
			if code != tc.code {
				t.Fatalf("%d %s, want %d", code, body, tc.code)
			}
			if strings.Contains(body, "package admin") || strings.Contains(body, "root:") {
				t.Fatalf("a traversal reached a file: %q", body)
			}
			if tc.msg == "" {
				return
			}
			if got := jsonError(t, h, body); got != tc.msg {
				t.Errorf("error %q, want %q", got, tc.msg)
			}
		})
	}
	if eventCount(t, cat) != before {
		t.Fatal("a refused request changed the custody trail")
	}
}

// TestSecretsNeverShown drives the API with right and wrong tokens and
// greps everything the daemon shows for the token.
func TestSecretsNeverShown(t *testing.T) {
	ts, _, logs := securedServer(t, testToken)
	var seen strings.Builder
	calls := append([]call{}, mutations...)
	for _, auth := range []string{"Bearer " + testToken, "Bearer " + wangToken, "Bearer wrong-" + "guess", ""} {
		for _, m := range calls {
			c := m
			c.header = map[string]string{"Authorization": auth}
			_, h, body := c.do(t, ts.URL)
			seen.WriteString(body)
			for k, v := range h {
				seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
			}
		}
		c := call{method: "POST", path: "/api/v1/notes", body: `{"text":`, header: map[string]string{"Authorization": auth}}
		_, _, body := c.do(t, ts.URL)
		seen.WriteString(body)
	}
	for _, p := range []string{"/", "/metrics", "/api/v1/status", "/api/v1/recordings", "/healthz", "/test/panic", "/nope"} {
		_, _, body := call{method: "GET", path: p, header: map[string]string{"Authorization": "Bearer " + wangToken}}.do(t, ts.URL)
		seen.WriteString(body)
	}
	if !strings.Contains(seen.String(), "custodian_admin_auth_failures_total 14") {
		t.Errorf("auth failures not counted")
	}
	for what, text := range map[string]string{"responses": seen.String(), "logs": logs.String()} {
		if strings.Contains(text, testToken) || strings.Contains(text, testToken[4:20]) || strings.Contains(text, wangToken[8:]) {
			t.Errorf("the admin token appears in %s", what)
		}
		if strings.Contains(text, "wrong-guess") {
			t.Errorf("a presented token appears in %s", what)
		}
	}
	if !strings.Contains(logs.String(), "refused admin call") || !strings.Contains(logs.String(), "panic serving admin request") {
		t.Errorf("logs lack the refusals and the panic:\n%s", logs.String())
	}
}

// serve runs the server on a loopback port with the given timeouts.
func serve(t *testing.T, cfg Config) (addr string) {
	t.Helper()
	srv := New(cfg, openCatalog(t), prometheus.NewRegistry(), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

// TestSlowLoris: a client that trickles its headers or body is cut off.
func TestSlowLoris(t *testing.T) {
	addr := serve(t, Config{Station: "st01", Token: testToken, ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond})
	for _, tc := range []struct {
		name, head, drip string
	}{
		{"headers", "GET / HTTP/1.1\r\nHost: x\r\n", "X-Slow: 1\r\n"},
		{"body", "POST /api/v1/notes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken +
			"\r\nX-Custodian-Actor: a\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := io.WriteString(conn, tc.head); err != nil {
				t.Fatal(err)
			}
			closed := make(chan struct{})
			go func() {
				io.Copy(io.Discard, bufio.NewReader(conn))
				close(closed)
			}()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-closed:
					if d := time.Since(start); d > 3*time.Second {
						t.Fatalf("closed only after %v", d)
					}
					return
				case <-tick.C:
					if time.Since(start) > 5*time.Second {
						t.Fatal("a slow client held the connection for 5 s")
					}
					conn.SetWriteDeadline(time.Now().Add(time.Second))
					if _, err := io.WriteString(conn, tc.drip); err != nil && !errors.Is(err, net.ErrClosed) {
						// The server hung up; the reader sees it next.
						continue
					}
				}
			}
		})
	}
}

func TestTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "custodian"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	addr := serve(t, Config{Station: "st01", Users: testUsers(), TLS: &tls.Config{MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil && res.StatusCode == http.StatusOK {
		t.Fatal("plain HTTP answered on the TLS port")
	}
	// Under TLS the session cookie is never sent in the clear.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err = client.PostForm("https://"+addr+"/login", url.Values{"name": {"zhao.wei"}, "token": {zhaoToken}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if c := res.Cookies(); res.StatusCode != http.StatusSeeOther || len(c) != 1 || !c[0].Secure || !c[0].HttpOnly {
		t.Fatalf("login over TLS: %d, cookies %+v", res.StatusCode, c)
	}
}
