package admin

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/storage/catalog"
)

// FuzzParseFilter: any query string gives a filter or an error, never a panic.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"officer=012345&from=2026-11-21", "state=staged&limit=10", "to=2026-11-21T08:30:00%2B08:00",
		"device=..%2F..", "limit=-1", "x=1&x=2", "from=%zz",
		"flag=unregistered&state=verified", "flag=%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q, time.UTC)
		if err == nil && (len(flt.Officer) > 32 || len(flt.Device) > 32 || flt.Limit < 0 || flt.Flag != "" && !catalog.ValidFlag(flt.Flag)) {
			t.Fatalf("accepted %q as %+v", raw, flt)
		}
	})
}

// FuzzMutation drives an authorised mutating route with any body, actor and
// id: the answer is a 2xx or a 4xx, never a 5xx.
func FuzzMutation(f *testing.F) {
	f.Add("1", "wang.li", `{"text":"reviewed"}`)
	f.Add("..%2f", "../x", `{"text":`)
	f.Add("18446744073709551616", "a", `{"text":"x"}{"text":"y"}`)
	f.Add("7", "custodian", `{"text":"\u202e"}`)
	f.Add("2", "", `{"text":"no actor header"}`)
	srv := New(Config{Station: "st01", Token: testToken, Users: testUsers()}, fakeCatalog{}, prometheus.NewRegistry(), nil)
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, id, actor, body string) {
		path := "/api/v1/recordings/" + url.PathEscape(id) + "/notes"
		req := httptest.NewRequest(http.MethodPost, "http://x/api/v1/notes", strings.NewReader(body))
		if u, err := url.Parse("http://x" + path); err == nil {
			req.URL = u
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+wangToken)
		if actor != "" { // without the header the body reaches the handler
			req.Header.Set(ActorHeader, strings.ToValidUTF8(strings.Map(func(r rune) rune {
				if r < ' ' || r == 0x7f {
					return -1
				}
				return r
			}, actor), ""))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%d %s for id %q actor %q body %q", w.Code, w.Body, id, actor, body)
		}
	})
}

// FuzzCredentials: any Authorization header, cookie or login form is
// refused or names a real user, never a 5xx, and only the right token
// reads.
func FuzzCredentials(f *testing.F) {
	f.Add("Bearer "+liToken, "", "li.na", "x")
	f.Add("Bearer li.na:", "custodian_session=", "", "")
	f.Add("Bearer :::", "custodian_session=abc", "shared-token", testToken)
	f.Add("Bearer "+testToken, "", "wang.li", "wang.li:li-SECRET")
	srv := New(Config{Station: "st01", Token: testToken, Users: testUsers()}, fakeCatalog{}, prometheus.NewRegistry(), nil)
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, auth, cookie, name, tok string) {
		req := httptest.NewRequest(http.MethodGet, "http://x/api/v1/recordings", nil)
		req.Header.Set("Authorization", auth)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		ok := auth == "Bearer "+liToken || auth == "Bearer "+testToken || auth == "Bearer "+wangToken || auth == "Bearer "+zhaoToken
		if w.Code >= 500 || (w.Code == http.StatusOK) != ok {
			t.Fatalf("Authorization %q: %d", auth, w.Code)
		}
		form := url.Values{"name": {name}, "token": {tok}}
		req = httptest.NewRequest(http.MethodPost, "http://x/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 || w.Code == http.StatusSeeOther && len(w.Result().Cookies()) != 1 {
			t.Fatalf("login %q: %d", name, w.Code)
		}
	})
}
