package admin

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The status page lists the requests waiting for a second supervisor, and
// leaves out those past their expiry.
func TestPageShowsPendingApprovals(t *testing.T) {
	cat := openCatalog(t)
	cfg := pageConfig()
	cfg.Retention = goldenRetention{}
	srv, _ := newTestServer(t, cfg, cat)
	ts := httptest.NewServer(asUser(srv.Handler(), zhaoToken))
	defer ts.Close()
	_, body := getPage(t, ts.URL+"/")
	i := strings.Index(body, `id="approvals"`)
	if i < 0 {
		t.Fatal("no approvals section on the status page")
	}
	section := body[i:]
	section = section[:strings.Index(section, "</section>")]
	for _, want := range []string{"1 pending", "release of evidence", "case A-1", "#1", "wang.li", "case closed"} {
		if !strings.Contains(section, want) {
			t.Errorf("approvals section lacks %q:\n%s", want, section)
		}
	}
	if strings.Contains(section, `<td data-label="Request" class="num">2</td>`) {
		t.Error("an expired request is shown as waiting")
	}
}

// FuzzApprovalRequest drives the request routes with any body and id: the
// answer is a 2xx or a 4xx, never a 5xx, and only a well-formed request of
// a known kind is passed on.
func FuzzApprovalRequest(f *testing.F) {
	f.Add("", `{"kind":"release","ids":[1],"reason":"evidence","why":"case closed"}`)
	f.Add("", `{"kind":"export","case":"A-1","why":"court"}`)
	f.Add("", `{"kind":"export","case":"../A","why":"x","ids":[0]}`)
	f.Add("3", `{"why":"agreed"}`)
	f.Add("18446744073709551616", `{"why":"x"}{"why":"y"}`)
	f.Add("0", `{"why":"\u202e"}`)
	srv := New(Config{Station: "st01", Users: testUsers(), Retention: goldenRetention{}, Now: func() time.Time { return testTime }}, fakeCatalog{}, prometheus.NewRegistry(), nil)
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, id, body string) {
		path := "/api/v1/requests"
		if id != "" {
			path += "/" + url.PathEscape(id) + "/approve"
		}
		req := httptest.NewRequest(http.MethodPost, "http://x/api/v1/requests", strings.NewReader(body))
		if u, err := url.Parse("http://x" + path); err == nil {
			req.URL = u
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+sunToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%d %s for id %q body %q", w.Code, w.Body, id, body)
		}
		if w.Code == 202 && !strings.Contains(w.Body.String(), `"state": "pending"`) {
			t.Fatalf("accepted %q as %s", body, w.Body)
		}
	})
}
