package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"custodian/storage/catalog"
)

// pagedCatalog is a real catalog of ten verified recordings, in start
// order by id; every third is flagged unregistered, and the even ones are
// officer 2's.
func pagedCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat := openCatalog(t)
	var recs []catalog.Recording
	for i := 1; i <= 10; i++ {
		officer := "1"
		if i%2 == 0 {
			officer = "2"
		}
		r := catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0123456", Officer: officer,
			Name: fmt.Sprintf("f%02d.mp4", i), StartedAt: testTime.Add(time.Duration(i) * time.Minute), ReceivedAt: testTime,
			Size: 1, SHA256: strings.Repeat(fmt.Sprintf("%x", i%16), 64), State: catalog.StateVerified}
		if i%3 == 0 {
			r.Flags = []string{catalog.FlagUnregistered}
		}
		recs = append(recs, r)
	}
	if _, err := cat.AddBatch(recs); err != nil {
		t.Fatal(err)
	}
	return cat
}

type page struct {
	Recordings []struct {
		ID uint64 `json:"id"`
	} `json:"recordings"`
	Next      string `json:"next"`
	Truncated bool   `json:"truncated"`
}

// walk follows the next cursors from query q and returns the ids of each page.
func walk(t *testing.T, base, q string) [][]uint64 {
	t.Helper()
	var pages [][]uint64
	cursor := ""
	for range 20 {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		code, _, body := call{method: "GET", path: "/api/v1/recordings?" + v.Encode()}.do(t, base)
		var p page
		if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil {
			t.Fatalf("%s: %d %v %s", v.Encode(), code, err, body)
		}
		if p.Truncated != (p.Next != "") {
			t.Fatalf("%s: truncated %v with next %q", v.Encode(), p.Truncated, p.Next)
		}
		ids := []uint64{}
		for _, r := range p.Recordings {
			ids = append(ids, r.ID)
		}
		pages = append(pages, ids)
		if p.Next == "" {
			return pages
		}
		cursor = p.Next
	}
	t.Fatalf("%s: no end after 20 pages: %v", q, pages)
	return nil
}

// The listing pages through every match by a cursor; a page holds at most
// limit and at most MaxResults, and filters that skip records still fill it.
func TestRecordingsPages(t *testing.T) {
	srv, _ := newTestServer(t, Config{Station: "st01", MaxResults: 3}, pagedCatalog(t))
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()
	for _, tc := range []struct {
		query string
		want  [][]uint64
	}{
		{"", [][]uint64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10}}},
		{"limit=2", [][]uint64{{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}}},
		{"limit=100", [][]uint64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10}}},
		{"limit=5", [][]uint64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10}}},
		{"state=verified", [][]uint64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10}}},
		{"state=archived", [][]uint64{{}}},
		{"officer=2", [][]uint64{{2, 4, 6}, {8, 10}}},
		{"device=J0123456&limit=4", [][]uint64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10}}},
		{"from=" + url.QueryEscape(testTime.Add(4*time.Minute).Format(time.RFC3339)), [][]uint64{{4, 5, 6}, {7, 8, 9}, {10}}},
		{"officer=1&to=" + url.QueryEscape(testTime.Add(8*time.Minute).Format(time.RFC3339)), [][]uint64{{1, 3, 5}, {7}}},
		{"flag=unregistered", [][]uint64{{3, 6, 9}}},
		{"flag=unregistered&limit=1", [][]uint64{{3}, {6}, {9}}},
		{"flag=unregistered&limit=2", [][]uint64{{3, 6}, {9}}},
		{"flag=unregistered&officer=2", [][]uint64{{6}}},
		{"flag=clock-offset", [][]uint64{{}}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			if got := walk(t, ts.URL, tc.query); !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("pages %v, want %v", got, tc.want)
			}
		})
	}
}

// A cursor that no listing of this filter gave, or an unknown flag, is a
// 400 that says why.
func TestRecordingsBadCursorAndFlag(t *testing.T) {
	srv, _ := newTestServer(t, Config{Station: "st01", MaxResults: 3}, pagedCatalog(t))
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()
	code, _, body := call{method: "GET", path: "/api/v1/recordings?officer=2&limit=1"}.do(t, ts.URL)
	var p page
	if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil || p.Next == "" {
		t.Fatalf("officer=2: %d %v %s", code, err, body)
	}
	for _, tc := range []struct{ query, want string }{
		{"cursor=" + url.QueryEscape(p.Next), "cursor"},   // an officer cursor on the id listing
		{"state=verified&cursor=" + p.Next, "cursor"},     // on the state listing
		{"cursor=%21%21", "cursor"},                       // not base64
		{"cursor=AAAA", "cursor"},                         // too short for any listing
		{"flag=bogus", "unparsed, unregistered"},          // lists the known flags
		{"flag=unregistered&flag=empty", "given 2 times"}, // one flag at a time
	} {
		code, h, body := call{method: "GET", path: "/api/v1/recordings?" + tc.query}.do(t, ts.URL)
		if msg := jsonError(t, h, body); code != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %q, want 400 naming %q", tc.query, code, msg, tc.want)
		}
	}
	// The cursor resumes the listing it came from.
	code, _, body = call{method: "GET", path: "/api/v1/recordings?officer=2&limit=1&cursor=" + url.QueryEscape(p.Next)}.do(t, ts.URL)
	if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil || len(p.Recordings) != 1 || p.Recordings[0].ID != 4 {
		t.Fatalf("officer=2 page 2: %d %v %s", code, err, body)
	}
}

// At the real default a page holds 10,000 and the cursor brings the rest.
func TestRecordingsPastDefaultCap(t *testing.T) {
	cat := openCatalog(t)
	n := DefaultMaxResults + 50
	recs := make([]catalog.Recording, n)
	for i := range recs {
		recs[i] = catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0123456",
			Name: fmt.Sprintf("f%05d.mp4", i), StartedAt: testTime, ReceivedAt: testTime, Size: 1,
			SHA256: strings.Repeat("a", 64), State: catalog.StateVerified}
	}
	if _, err := cat.AddBatch(recs); err != nil {
		t.Fatal(err)
	}
	srv, _ := newTestServer(t, Config{Station: "st01"}, cat)
	ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
	defer ts.Close()
	pages := walk(t, ts.URL, "")
	if len(pages) != 2 || len(pages[0]) != DefaultMaxResults || len(pages[1]) != 50 || pages[1][49] != uint64(n) {
		t.Fatalf("%d pages", len(pages))
	}
}

// blockingCatalog lists as a catalog far too big for the request would:
// until the request's context ends.
type blockingCatalog struct {
	fakeCatalog
	stopped chan error
}

func (b blockingCatalog) ListPageContext(ctx context.Context, _ catalog.Filter) ([]catalog.Recording, catalog.Cursor, error) {
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	b.stopped <- ctx.Err()
	return nil, nil, ctx.Err()
}

func (b blockingCatalog) ListContext(ctx context.Context, f catalog.Filter) ([]catalog.Recording, error) {
	recs, _, err := b.ListPageContext(ctx, f)
	return recs, err
}

// A client that leaves stops the listing it asked for: the handler hands
// the catalog its request's context (and the catalog's reads stop with it,
// TestLongReadsStopWithTheirContext), and logs no failure for it.
func TestListingStopsWhenTheClientLeaves(t *testing.T) {
	for _, path := range []string{"/api/v1/recordings?flag=clock-offset", "/api/v1/cases/C1"} {
		t.Run(path, func(t *testing.T) {
			cat := blockingCatalog{stopped: make(chan error, 1)}
			srv, logs := newTestServer(t, Config{Station: "st01", MaxResults: 3, Retention: goldenRetention{}}, cat)
			ts := httptest.NewServer(asUser(srv.Handler(), wangToken))
			defer ts.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
			start := time.Now()
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("answered %d", resp.StatusCode)
			}
			select {
			case err := <-cat.stopped:
				if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
					t.Fatalf("listing ended after %v: %v", time.Since(start), err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("the listing went on after its client left")
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a client that left was logged as a failure: %s", logs.String())
			}
		})
	}
}
