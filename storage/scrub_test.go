package storage

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestScrub(t *testing.T) {
	s := openTestStaging(t, t.TempDir())
	c := openTestCatalog(t)
	add := func(body string, state State) Recording {
		b, err := s.Put(context.Background(), bytes.NewReader([]byte(body)), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		r := rec("D1", "1", body, b.SHA256, t0)
		r.Size = b.Size
		got, _, err := c.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		if state != StateVerified {
			got, _ = c.Update(got.ID, func(x *Recording) error { x.State = state; return nil })
		}
		return got
	}
	good := add("good footage", StateVerified)
	rotten := add("rotten footage", StateVerified)
	gone := add("gone footage", StateVerified)
	archived := add("archived rotten", StateArchived)
	localOnly := add("local-only expiring rotten", StateExpiring)
	os.WriteFile(s.Path(rotten.SHA256), []byte("rotten fOotage"), 0o640)
	os.Remove(s.Path(gone.SHA256))
	os.WriteFile(s.Path(archived.SHA256), []byte("archived rotteN"), 0o640)
	os.WriteFile(s.Path(localOnly.SHA256), []byte("local-only expiring rotteN"), 0o640)
	c.Update(archived.ID, func(x *Recording) error { x.ArchiveKey = "st01/k"; return nil })

	failures := NewScrubFailures(prometheus.NewRegistry())
	sc := Scrubber{Catalog: c, Staging: s, Log: slog.New(slog.DiscardHandler), Failures: failures}
	checked, bad, err := sc.Scrub(context.Background())
	if err != nil || checked != 5 || bad != 4 {
		t.Fatalf("checked %d bad %d err %v", checked, bad, err)
	}
	for _, tc := range []struct {
		r       Recording
		state   State
		evicted bool
	}{{good, StateVerified, false}, {rotten, StateCorrupt, false}, {gone, StateMissing, false}, {archived, StateArchived, true},
		// Local-only: staging is the only copy, so the loss is a state, not an eviction.
		{localOnly, StateCorrupt, false}} {
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
