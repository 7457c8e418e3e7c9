package staging

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestScrub(t *testing.T) {
	s := openTestStaging(t, t.TempDir())
	c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return catalogtest.T0 }})
	add := func(body string, state catalog.State) catalog.Recording {
		b, err := s.Put(context.Background(), bytes.NewReader([]byte(body)), int64(len(body)), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := catalogtest.Record("D1", "1", body, b.SHA256, catalogtest.T0)
		r.Size = b.Size
		got, _, err := c.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		if state != catalog.StateVerified {
			got, _ = c.Update(got.ID, func(x *catalog.Recording) error { x.State = state; return nil })
		}
		return got
	}
	good := add("good footage", catalog.StateVerified)
	rotten := add("rotten footage", catalog.StateVerified)
	gone := add("gone footage", catalog.StateVerified)
	archived := add("archived rotten", catalog.StateArchived)
	localOnly := add("local-only expiring rotten", catalog.StateExpiring)
	os.WriteFile(s.Path(rotten.SHA256), []byte("rotten fOotage"), 0o640)
	os.Remove(s.Path(gone.SHA256))
	os.WriteFile(s.Path(archived.SHA256), []byte("archived rotteN"), 0o640)
	os.WriteFile(s.Path(localOnly.SHA256), []byte("local-only expiring rotteN"), 0o640)
	c.Update(archived.ID, func(x *catalog.Recording) error { x.ArchiveKey = "st01/k"; return nil })

	failures := NewScrubFailures(prometheus.NewRegistry())
	sc := Scrubber{Catalog: c, Staging: s, Log: slog.New(slog.DiscardHandler), Failures: failures}
	checked, bad, err := sc.Scrub(context.Background())
	if err != nil || checked != 5 || bad != 4 {
		t.Fatalf("checked %d bad %d err %v", checked, bad, err)
	}
	for _, tc := range []struct {
		r       catalog.Recording
		state   catalog.State
		evicted bool
	}{{good, catalog.StateVerified, false}, {rotten, catalog.StateCorrupt, false}, {gone, catalog.StateMissing, false}, {archived, catalog.StateArchived, true},
		// Local-only: staging is the only copy, so the loss is a state, not an eviction.
		{localOnly, catalog.StateCorrupt, false}} {
		got, _ := c.Get(tc.r.ID)
		if got.State != tc.state || got.EvictedAt.IsZero() == tc.evicted {
			t.Errorf("%s: state %s evicted %v", got.Name, got.State, !got.EvictedAt.IsZero())
		}
	}
	if testutil.ToFloat64(failures) != 4 {
		t.Fatalf("failures %v", testutil.ToFloat64(failures))
	}
	// A second scrub finds nothing new: the bad copies are no longer local.
	if _, bad, _ := sc.Scrub(context.Background()); bad != 0 {
		t.Fatalf("second scrub: %d bad", bad)
	}
	if _, err := c.VerifyEvents(); err != nil {
		t.Fatal(err)
	}
}

// A fresh copy of the same bytes, or an eviction, landing between the
// scrub's listing and its check must not be recorded as damage: the check
// reads the record and the blob as they are, under the blob's lock.
func TestScrubUnderInterference(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		archive string
		inject  func(t *testing.T, s *Staging, c *catalog.Catalog, r catalog.Recording, body []byte)
	}{
		{"healed by a fresh ingest", "", func(t *testing.T, s *Staging, c *catalog.Catalog, r catalog.Recording, body []byte) {
			if _, err := s.Put(ctx, bytes.NewReader(body), int64(len(body)), nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"evicted", "st01/k", func(t *testing.T, s *Staging, c *catalog.Catalog, r catalog.Recording, body []byte) {
			_, err := s.Remove(r.SHA256, func() (bool, error) {
				_, err := c.Update(r.ID, func(x *catalog.Recording) error { x.EvictedAt = catalogtest.T0; return nil })
				return false, err
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStaging(t, t.TempDir())
			c := catalogtest.Open(t, catalog.Options{Now: func() time.Time { return catalogtest.T0 }})
			body := []byte("footage that rots while it waits")
			b, err := s.Put(ctx, bytes.NewReader(body), int64(len(body)), nil)
			if err != nil {
				t.Fatal(err)
			}
			r := catalogtest.Record("D1", "1", "a.mp4", b.SHA256, catalogtest.T0)
			r.Size, r.ArchiveKey = b.Size, tc.archive
			if tc.archive != "" {
				r.State = catalog.StateArchived
			}
			if r, _, err = c.Add(r); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(s.Path(b.SHA256), []byte("footage that rots while it waitS"), 0o640)
			sc := Scrubber{Catalog: c, Staging: s, Log: slog.New(slog.DiscardHandler)}
			sc.between = func(id uint64) { tc.inject(t, s, c, r, body) }
			if _, bad, err := sc.Scrub(ctx); err != nil || bad != 0 {
				t.Fatalf("bad %d, err %v", bad, err)
			}
			got, _ := c.Get(r.ID)
			if got.State == catalog.StateCorrupt || got.State == catalog.StateMissing {
				t.Fatalf("recorded as %s", got.State)
			}
			events, _ := c.RecentEvents(10)
			for _, e := range events {
				if e.Type == catalog.EventCorrupt || e.Type == catalog.EventMissing {
					t.Fatalf("custody event %s: %s", e.Type, e.Detail)
				}
			}
		})
	}
}
