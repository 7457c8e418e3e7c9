package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/admin"
	"custodian/storage/catalog"
)

// listStation is a catalog of n verified dock recordings, each with its
// staged copy on disk, served by an admin API that answers at most
// maxResults recordings at a time (0: the default). Every third recording
// is flagged unregistered.
type listStation struct {
	dir, config string
	stop        func() // stops the daemon and closes the catalog; later runs read the catalog
}

func newListStation(t *testing.T, n, maxResults int) *listStation {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &listStation{dir: dir, config: filepath.Join(dir, "custodian.yaml")}
	data := filepath.Join(dir, "data")
	y := "station: st01\ntimezone: UTC\ndata_dir: " + data + "\nadmin: {listen: \"" + ln.Addr().String() + "\"}\n"
	if err := os.WriteFile(s.config, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return goldenNow }
	cat, err := catalog.Open(filepath.Join(data, "custodian.db"), catalog.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// One staged blob serves every recording (names differ), so that ten
	// thousand take no longer to stage than ten.
	body := []byte("recording")
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	if err := os.MkdirAll(filepath.Join(data, "staging", sha[:2]), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "staging", sha[:2], sha), body, 0o640); err != nil {
		t.Fatal(err)
	}
	recs := make([]catalog.Recording, 0, n)
	for i := 1; i <= n; i++ {
		r := catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0123456", Officer: "012345",
			Name: fmt.Sprintf("J0123456_012345_20261121073015_%04d.MP4", i), StartedAt: goldenNow.Add(time.Duration(i) * time.Second),
			ReceivedAt: goldenNow, Size: int64(len(body)), SHA256: sha, State: catalog.StateVerified}
		if i%3 == 0 {
			r.Flags = []string{catalog.FlagUnregistered}
		}
		recs = append(recs, r)
	}
	if added, err := cat.AddBatch(recs, catalog.Event{Type: catalog.EventIngested}); err != nil || added != n {
		t.Fatalf("added %d of %d: %v", added, n, err)
	}
	asCLIUser(t)
	srv := admin.New(admin.Config{Station: "st01", Version: "test", Location: time.UTC, Now: now, MaxResults: maxResults, Users: cliUsers(t)},
		cat, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	stopped := false
	s.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			cat.Close()
		}
	}
	t.Cleanup(s.stop)
	return s
}

// cli runs the command line against the station and returns stdout and
// stderr.
func (s *listStation) cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), append(args, "--config", s.config), &out, &errOut)
	return out.String(), errOut.String(), err
}

// lsIDs runs ls --json and returns the ids it lists, in order.
func (s *listStation) lsIDs(t *testing.T, args ...string) []uint64 {
	t.Helper()
	out, errOut, err := s.cli(t, append([]string{"ls", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("ls %v: %v\n%s", args, err, errOut)
	}
	var resp struct {
		Recordings []struct {
			ID uint64 `json:"id"`
		} `json:"recordings"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("ls --json is not JSON: %v\n%s", err, out)
	}
	ids := []uint64{}
	for _, r := range resp.Recordings {
		ids = append(ids, r.ID)
	}
	return ids
}

func seq(from, to, step uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i += step {
		out = append(out, i)
	}
	return out
}

// ls lists every match, page by page, whatever a page holds; --limit caps
// the total. The same holds when it reads the catalog itself.
func TestLsListsEveryMatch(t *testing.T) {
	s := newListStation(t, 10, 3)
	for _, mode := range []string{"daemon", "catalog"} {
		if mode == "catalog" {
			s.stop()
		}
		t.Run(mode, func(t *testing.T) {
			if got := s.lsIDs(t); !slices.Equal(got, seq(1, 10, 1)) {
				t.Errorf("ls: %v, want 1-10", got)
			}
			if got := s.lsIDs(t, "--limit", "5"); !slices.Equal(got, seq(1, 5, 1)) {
				t.Errorf("ls --limit 5: %v", got)
			}
			if got := s.lsIDs(t, "--state", "verified", "--limit", "7"); !slices.Equal(got, seq(1, 7, 1)) {
				t.Errorf("ls --state verified --limit 7: %v", got)
			}
			if got := s.lsIDs(t, "--officer", "012345"); !slices.Equal(got, seq(1, 10, 1)) {
				t.Errorf("ls --officer: %v", got)
			}
			out, errOut, err := s.cli(t, "ls")
			if err != nil || strings.Count(out, "\n") != 11 || errOut != "" {
				t.Errorf("ls: %v\n%s--- stderr\n%s", err, out, errOut)
			}
			out, errOut, err = s.cli(t, "ls", "--limit", "4")
			if err != nil || strings.Count(out, "\n") != 5 || !strings.Contains(errOut, "more recordings match") {
				t.Errorf("ls --limit 4: %v\n%s--- stderr\n%s", err, out, errOut)
			}
		})
	}
}

// --flag lists the recordings that carry a flag; the pages fill whatever
// the flag skips.
func TestLsFlag(t *testing.T) {
	s := newListStation(t, 10, 2)
	for _, mode := range []string{"daemon", "catalog"} {
		if mode == "catalog" {
			s.stop()
		}
		t.Run(mode, func(t *testing.T) {
			if got := s.lsIDs(t, "--flag", "unregistered"); !slices.Equal(got, []uint64{3, 6, 9}) {
				t.Errorf("ls --flag unregistered: %v, want [3 6 9]", got)
			}
			if got := s.lsIDs(t, "--flag", "unregistered", "--state", "verified", "--limit", "2"); !slices.Equal(got, []uint64{3, 6}) {
				t.Errorf("ls --flag unregistered --state verified --limit 2: %v, want [3 6]", got)
			}
			if got := s.lsIDs(t, "--flag", "clock-offset"); len(got) != 0 {
				t.Errorf("ls --flag clock-offset: %v, want none", got)
			}
			_, _, err := s.cli(t, "ls", "--flag", "unregistred")
			if err == nil || !strings.Contains(err.Error(), "unregistered") || !strings.Contains(err.Error(), "clock-suspect") {
				t.Errorf("ls --flag unregistred: %v, want an error naming the known flags", err)
			}
		})
	}
}

// Offline, a listing without matches is an empty list, not null.
func TestLsJSONEmpty(t *testing.T) {
	s := newListStation(t, 2, 0)
	s.stop()
	out, _, err := s.cli(t, "ls", "--json", "--officer", "999999")
	if err != nil || out != "{\n  \"recordings\": []\n}\n" {
		t.Fatalf("ls --json without matches: %v\n%s", err, out)
	}
}

// verify --local reads back every staged copy, through the daemon or not.
func TestVerifyLocalChecksEveryRecord(t *testing.T) {
	s := newListStation(t, 10, 3)
	for _, mode := range []string{"daemon", "catalog"} {
		if mode == "catalog" {
			s.stop()
		}
		t.Run(mode, func(t *testing.T) {
			out, errOut, err := s.cli(t, "verify", "--local")
			if err != nil || !strings.HasSuffix(out, "10 checked, 0 failed\n") || errOut != "" {
				t.Fatalf("verify --local: %v\n%s--- stderr\n%s", err, out, errOut)
			}
			out, _, err = s.cli(t, "verify", "--local", "--sample", "4")
			if err != nil || strings.Count(out, "ok   ") != 4 || !strings.HasSuffix(out, "4 checked, 0 failed\n") {
				t.Fatalf("verify --local --sample 4: %v\n%s", err, out)
			}
		})
	}
}

// At the daemon's real cap of 10,000 a larger catalog still lists and
// verifies in full.
func TestListPastDefaultCap(t *testing.T) {
	if testing.Short() {
		t.Skip("10,050 recordings")
	}
	n := admin.DefaultMaxResults + 50
	s := newListStation(t, n, 0)
	for _, mode := range []string{"daemon", "catalog"} {
		if mode == "catalog" {
			s.stop()
		}
		t.Run(mode, func(t *testing.T) {
			if got := s.lsIDs(t); len(got) != n || got[n-1] != uint64(n) {
				t.Errorf("ls: %d recordings, want %d", len(got), n)
			}
			if mode == "catalog" {
				return // verify lists as ls does; hashing is what takes the time
			}
			out, errOut, err := s.cli(t, "verify", "--local")
			if want := fmt.Sprintf("%d checked, 0 failed\n", n); err != nil || !strings.HasSuffix(out, want) || errOut != "" {
				t.Errorf("verify --local: %v, want %q; stderr %s", err, want, errOut)
			}
		})
	}
}
