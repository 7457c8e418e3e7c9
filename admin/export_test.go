package admin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/export"
	"custodian/storage/staging"
)

// exportServer is a server over a catalog with case C-7: one staged
// recording.
func exportServer(t *testing.T, gate ExportGate) (*httptest.Server, *catalog.Catalog, *staging.Staging) {
	t.Helper()
	cat := openCatalog(t)
	st, err := staging.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("footage of case C-7")
	b, err := st.Put(context.Background(), bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := catalogtest.Record("DEV1", "100234", "a.MP4", b.SHA256, testTime)
	rec.Size, rec.Cases = b.Size, []string{"C-7"}
	if _, _, err := cat.Add(rec, catalog.Event{Type: catalog.EventIngested}); err != nil {
		t.Fatal(err)
	}
	x := &export.Exporter{Catalog: cat, Blobs: st, Station: "st01", TempDir: t.TempDir()}
	srv, _ := newTestServer(t, Config{Station: "st01", Export: x, ExportGate: gate}, cat)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, cat, st
}

func postExport(t *testing.T, ts *httptest.Server, c, tok, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/cases/"+c+"/export", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	return res, buf.Bytes()
}

func TestExportNeedsSupervisor(t *testing.T) {
	ts, cat, _ := exportServer(t, nil)
	for _, tc := range []struct {
		tok  string
		want int
	}{{zhaoToken, http.StatusForbidden}, {liToken, http.StatusForbidden}, {"nobody:x", http.StatusUnauthorized}} {
		if res, body := postExport(t, ts, "C-7", tc.tok, `{"why":"court"}`); res.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", strings.Split(tc.tok, ":")[0], res.StatusCode, body, tc.want)
		}
	}
	if ev, _, _ := cat.EventLines(func(e catalog.Event) bool { return e.Type == export.EventExported }); len(ev) != 0 {
		t.Errorf("refused exports recorded %v", ev)
	}
	res, body := postExport(t, ts, "C-7", wangToken, `{"why":"court order 12"}`)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("supervisor: %d %s", res.StatusCode, body)
	}
	if _, err := export.VerifyTar(bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	ev, _, _ := cat.EventLines(func(e catalog.Event) bool { return e.Type == export.EventExported })
	if len(ev) != 1 || ev[0].Actor != "wang.li" || ev[0].Detail != "case C-7: court order 12" {
		t.Errorf("exported events %+v", ev)
	}
	if res, body := postExport(t, ts, "C-8", wangToken, `{}`); res.StatusCode != http.StatusNotFound {
		t.Errorf("empty case: %d %s", res.StatusCode, body)
	}
	if res, _ := postExport(t, ts, "C/..", wangToken, `{}`); res.StatusCode < 400 {
		t.Errorf("bad case id: %d", res.StatusCode)
	}
}

// TestExportGateDecides: the gate, not the role alone, decides; the
// approval of a second person plugs in there.
func TestExportGateDecides(t *testing.T) {
	var asked []string
	gate := func(_ context.Context, who Principal, c, why string) error {
		asked = append(asked, who.Name+" "+c+" "+why)
		if who.Role == RoleOperator {
			return nil
		}
		return errors.New("awaiting a second supervisor's approval")
	}
	ts, _, _ := exportServer(t, gate)
	if res, body := postExport(t, ts, "C-7", wangToken, `{"why":"w"}`); res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "approval") {
		t.Errorf("gate refused: %d %s", res.StatusCode, body)
	}
	if res, _ := postExport(t, ts, "C-7", liToken, `{"why":"w"}`); res.StatusCode != http.StatusOK {
		t.Errorf("gate allowed: %d", res.StatusCode)
	}
	if len(asked) != 2 || asked[0] != "wang.li C-7 w" {
		t.Errorf("gate asked %v", asked)
	}
}

// TestExportCutOnBadCopy: a staged copy that no longer matches its hash is
// never handed out; the stream is cut, not ended, so no client takes what
// it got for a whole export.
func TestExportCutOnBadCopy(t *testing.T) {
	ts, cat, st := exportServer(t, nil)
	rec, err := cat.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	blob := st.Path(rec.SHA256)
	_ = os.Chmod(blob, 0o640)
	if err := os.WriteFile(blob, []byte("footage of case C-8"), 0o640); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/cases/C-7/export", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+wangToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil {
		t.Fatalf("the stream ended cleanly (%d %d bytes): %s", res.StatusCode, len(b), b)
	}
	if bytes.Contains(b, []byte("footage of case C-8")) {
		t.Error("the altered copy went out")
	}
}
