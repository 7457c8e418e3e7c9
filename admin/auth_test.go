package admin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// personal are strings of the populated catalog that identify people and
// cases: none may leave the server without a login.
var personal = []string{"012345", "J0123456", "wang.li"}

// TestReadsNeedLogin: every page and API answer about recordings, rooms,
// cases and status is refused without credentials; only /healthz and
// /metrics answer, and they name nobody.
func TestReadsNeedLogin(t *testing.T) {
	ts, _, _ := securedServer(t, testToken)
	for _, path := range []string{"/api/v1/recordings", "/api/v1/recordings/1", "/api/v1/status",
		"/api/v1/cases/C-1", "/api/v1/report", "/api/v1/audit/verify", "/api/v1/retention/plan"} {
		code, h, body := call{method: "GET", path: path}.do(t, ts.URL)
		if code != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d, want 401", path, code)
			continue
		}
		jsonError(t, h, body)
		for _, p := range personal {
			if strings.Contains(body, p) {
				t.Errorf("GET %s refused but shows %q", path, p)
			}
		}
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("status page without a login: %d to %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		code, _, body := call{method: "GET", path: path}.do(t, ts.URL)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d, want 200 without credentials", path, code)
		}
		for _, p := range personal {
			if strings.Contains(body, p) {
				t.Errorf("GET %s shows %q to anyone", path, p)
			}
		}
	}
}

// TestForgedActorChangesNothing: the custody trail names who authenticated;
// a header naming someone else is refused and records nothing.
func TestForgedActorChangesNothing(t *testing.T) {
	ts, cat, _ := securedServer(t, testToken)
	before := eventCount(t, cat)
	c := call{method: "POST", path: "/api/v1/recordings/2/notes", body: `{"text":"reviewed"}`,
		header: map[string]string{"Authorization": "Bearer " + testToken, ActorHeader: "forged.name"}}
	if code, _, body := c.do(t, ts.URL); code != http.StatusForbidden {
		t.Errorf("forged actor: %d %s, want 403", code, body)
	}
	if n := eventCount(t, cat); n != before {
		t.Fatalf("a forged actor changed the trail: %d events, had %d", n, before)
	}
	delete(c.header, ActorHeader)
	if code, _, body := c.do(t, ts.URL); code != http.StatusCreated {
		t.Fatalf("note without a header: %d %s", code, body)
	}
	ev, err := cat.RecentEvents(1)
	if err != nil {
		t.Fatal(err)
	}
	if ev[0].Actor != "shared-token" {
		t.Errorf("trail records %q, want the authenticated shared-token", ev[0].Actor)
	}
}

// TestRoles: viewers read, operators hold and note, supervisors release.
func TestRoles(t *testing.T) {
	cat := openCatalog(t)
	populate(t, cat)
	cfg := pageConfig()
	cfg.Retention = goldenRetention{}
	srv, _ := newTestServer(t, cfg, cat)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tests := []struct {
		name, token string
		c           call
		code        int
	}{
		{"viewer reads", zhaoToken, call{method: "GET", path: "/api/v1/recordings/1"}, 200},
		{"viewer may not note", zhaoToken, call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}`}, 403},
		{"operator notes", liToken, call{method: "POST", path: "/api/v1/notes", body: `{"text":"x"}`}, 201},
		{"operator may not release", liToken, call{method: "POST", path: "/api/v1/recordings/1/release", body: `{"why":"x"}`}, 403},
		{"operator may not restore", liToken, call{method: "POST", path: "/api/v1/recordings/1/restore", body: `{"why":"x"}`}, 403},
		{"supervisor releases", wangToken, call{method: "POST", path: "/api/v1/recordings/1/release", body: `{"why":"x"}`}, 200},
		{"viewer may not approve", zhaoToken, call{method: "POST", path: "/api/v1/requests/3/approve", body: `{"why":"x"}`}, 403},
		{"operator may not approve", liToken, call{method: "POST", path: "/api/v1/requests/3/approve", body: `{"why":"x"}`}, 403},
		{"operator may not ask", liToken, call{method: "POST", path: "/api/v1/requests", body: `{"kind":"export","case":"A-1","why":"x"}`}, 403},
		{"viewer reads requests", zhaoToken, call{method: "GET", path: "/api/v1/requests"}, 200},
		{"supervisor may not approve own", wangToken, call{method: "POST", path: "/api/v1/requests/3/approve", body: `{"why":"x"}`}, 403},
		{"second supervisor approves", sunToken, call{method: "POST", path: "/api/v1/requests/3/approve", body: `{"why":"x"}`}, 200},
		{"disabled supervisor", offToken, call{method: "GET", path: "/api/v1/recordings/1"}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := eventCount(t, cat)
			tc.c.header = map[string]string{"Authorization": "Bearer " + tc.token}
			code, _, body := tc.c.do(t, ts.URL)
			if code != tc.code {
				t.Fatalf("%d %s, want %d", code, body, tc.code)
			}
			if grew := eventCount(t, cat) - before; code >= 300 && grew != 0 {
				t.Fatalf("a refused call added %d events", grew)
			}
		})
	}
	ev, _ := cat.RecentEvents(1)
	if ev[0].Actor != "li.na" {
		t.Errorf("the operator's note is recorded as %q", ev[0].Actor)
	}
}

// TestStatusPageLogin walks the browser's way in: the form, a session
// cookie a script cannot read and no other site sends, a log out that
// needs the session's CSRF token, and a session that ends.
func TestStatusPageLogin(t *testing.T) {
	cat := openCatalog(t)
	populate(t, cat)
	now := testTime
	cfg := pageConfig()
	cfg.Now = func() time.Time { return now }
	cfg.Token = testToken
	srv, _ := newTestServer(t, cfg, cat)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values, cookie *http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	page := func(cookie *http.Cookie) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/", nil)
		req.AddCookie(cookie)
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _, body := (call{method: "GET", path: "/login"}).do(t, ts.URL); code != 200 || !strings.Contains(body, `<form method="post" action="/login">`) {
		t.Fatalf("login form: %d %s", code, body)
	}
	for _, bad := range []url.Values{{"name": {"wang.li"}, "token": {"wrong"}}, {"name": {"li.na"}, "token": {wangToken}},
		{"name": {"chen.jie"}, "token": {offToken}}, {"name": {"wang.li"}}} {
		if res := post("/login", bad, nil); res.StatusCode != 401 || len(res.Cookies()) != 0 {
			t.Errorf("login %v: %d, cookies %v", bad.Get("name"), res.StatusCode, res.Cookies())
		}
	}
	res := post("/login", url.Values{"name": {"wang.li"}, "token": {strings.TrimPrefix(wangToken, "wang.li:")}}, nil)
	if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 {
		t.Fatalf("login: %d, cookies %v", res.StatusCode, res.Cookies())
	}
	cookie := res.Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, not Secure without TLS", cookie)
	}
	code, body := page(cookie)
	if code != 200 || !strings.Contains(body, `wang.li (supervisor)`) || !strings.Contains(body, "admin.token_file is deprecated") {
		t.Fatalf("page after login: %d\n%s", code, body)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if csrf == nil {
		t.Fatal("no CSRF token in the log out form")
	}
	if res := post("/api/v1/notes", url.Values{}, cookie); res.StatusCode != 401 {
		t.Errorf("session POST without a CSRF token: %d, want 401", res.StatusCode)
	}
	if res := post("/logout", url.Values{"csrf": {"forged"}}, cookie); res.StatusCode != 401 {
		t.Errorf("log out with a wrong CSRF token: %d, want 401", res.StatusCode)
	}
	if res := post("/logout", url.Values{"csrf": {csrf[1]}}, cookie); res.StatusCode != http.StatusSeeOther {
		t.Errorf("log out: %d", res.StatusCode)
	}
	if code, _ := page(cookie); code != http.StatusSeeOther {
		t.Errorf("page after log out: %d, want 303 to the login", code)
	}
	cookie = post("/login", url.Values{"name": {"zhao.wei"}, "token": {zhaoToken}}, nil).Cookies()[0]
	if code, _ := page(cookie); code != 200 {
		t.Fatalf("second login: %d", code)
	}
	now = now.Add(DefaultSessionTTL)
	if code, _ := page(cookie); code != http.StatusSeeOther {
		t.Errorf("page after the session expired: %d, want 303", code)
	}
}

// TestSocketPeer: on the admin socket the kernel's word on the caller's
// uid, mapped to an account name, is the user; no token is needed and a
// forged actor header still changes nothing.
func TestSocketPeer(t *testing.T) {
	cat := openCatalog(t)
	populate(t, cat)
	accounts := map[uint32]string{}
	cfg := Config{Station: "st01", Users: testUsers(), AccountName: func(uid uint32) (string, error) {
		if a, ok := accounts[uid]; ok {
			return a, nil
		}
		return "", errors.New("unknown uid")
	}}
	srv, _ := newTestServer(t, cfg, cat)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	post := func(actor string) int {
		req, _ := http.NewRequest("POST", "http://custodian/api/v1/notes", strings.NewReader(`{"text":"via the socket"}`))
		req.Header.Set("Content-Type", "application/json")
		if actor != "" {
			req.Header.Set(ActorHeader, actor)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(""); code != 401 {
		t.Errorf("unknown account: %d, want 401", code)
	}
	accounts[uint32(os.Getuid())] = "li.na"
	before := eventCount(t, cat)
	if code := post("wang.li"); code != 403 || eventCount(t, cat) != before {
		t.Errorf("forged actor over the socket: %d", code)
	}
	if code := post(""); code != 201 {
		t.Fatalf("operator over the socket: %d", code)
	}
	if ev, _ := cat.RecentEvents(1); ev[0].Actor != "li.na" {
		t.Errorf("trail records %q, want li.na", ev[0].Actor)
	}
}
