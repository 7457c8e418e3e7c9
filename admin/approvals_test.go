package admin

import (
	"net/http/httptest"
	"strings"
	"testing"
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
