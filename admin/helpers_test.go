package admin

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"custodian/hardware/clock"
	"custodian/hardware/disk"
	"custodian/internal/testlog"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
)

// fakeCatalog serves fixed counts, or an error.
type fakeCatalog struct {
	counts map[catalog.State]int
	held   int
	err    error
}

func (f fakeCatalog) Held() (int, error) { return f.held, f.err }

func (f fakeCatalog) ListContext(context.Context, catalog.Filter) ([]catalog.Recording, error) {
	return nil, f.err
}
func (f fakeCatalog) ListPageContext(context.Context, catalog.Filter) ([]catalog.Recording, catalog.Cursor, error) {
	return nil, nil, f.err
}
func (f fakeCatalog) Counts() (map[catalog.State]int, error)    { return f.counts, f.err }
func (f fakeCatalog) RecentEvents(int) ([]catalog.Event, error) { return nil, f.err }
func (f fakeCatalog) Get(uint64) (catalog.Recording, error) {
	return catalog.Recording{}, catalog.ErrNotFound
}
func (f fakeCatalog) Append(...catalog.Event) error { return f.err }

var testTime = time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)

// sampleHealth is a staging volume on a warning disk and a healthy catalog volume.
func sampleHealth() disk.Report {
	passed := true
	return disk.Report{
		Time:  testTime,
		Level: disk.LevelWarning,
		Volumes: []disk.VolumeHealth{
			{
				Role: "staging", Path: "/var/lib/custodian/staging", MountPoint: "/var/lib/custodian", FSType: "ext4", Device: "sdb1",
				TotalBytes: 8 << 40, FreeBytes: 1 << 40, UsedBytes: 7 << 40, TotalInodes: 1 << 20, FreeInodes: 1 << 19,
				IOErrors: 3, ReadLatency: 4 * time.Millisecond, WriteLatency: 12 * time.Millisecond, Marker: "ok",
				SMART: disk.SMART{Passed: &passed, Model: "ST8000VN004", Temperature: 41},
				Level: disk.LevelWarning, Problems: []string{"space free 12.5% (warning below 15%)"},
			},
			{
				Role: "catalog", Path: "/var/lib/custodian", MountPoint: "/var/lib/custodian", FSType: "ext4", Device: "sdb1",
				TotalBytes: 8 << 40, FreeBytes: 1 << 40, UsedBytes: 7 << 40, TotalInodes: 1 << 20, FreeInodes: 1 << 19,
				IOErrors: -1, SMART: disk.SMART{Note: "smartctl not installed"}, Level: disk.LevelOK,
			},
		},
	}
}

// sampleClock is a synchronised station clock that stepped back an hour at
// the last check: untrusted until the next check finds it synchronised.
func sampleClock() clock.State {
	return clock.State{Time: testTime, Sync: clock.Sync{Known: true, Synchronised: true, MaxError: 250 * time.Millisecond},
		StepsBack: 1, LastStep: -time.Hour, LastStepAt: testTime, Stepped: true,
		Reason: "the clock stepped back 1h0m0s at 2026-11-21T08:30:00Z; trusted again once a later check finds it synchronised"}
}

// openCatalog is a real catalog in a temp dir.
func openCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	return catalogtest.Open(t, catalog.Options{Now: func() time.Time { return testTime }})
}

func newTestServer(t *testing.T, cfg Config, cat Catalog) (*Server, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	if cfg.Users == nil {
		cfg.Users = testUsers()
	}
	return New(cfg, cat, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(logs, nil))), logs
}

// The test users' tokens: no output may contain their secrets either.
const (
	wangToken = "wang.li:wang-SECRET-9b7e5d3c1a2f4e6d8c0b"  // supervisor
	liToken   = "li.na:li-SECRET-1c3e5a7b9d2f4e6a8c0e"      // operator
	zhaoToken = "zhao.wei:zhao-SECRET-5e7a9c1b3d2f4a6e8c0d" // viewer
	offToken  = "chen.jie:chen-SECRET-7d9b1e3c5a2f4e6a8c0f" // disabled supervisor
	sunToken  = "sun.yu:sun-SECRET-3a5c7e9b1d2f4e6a8c0a"    // a second supervisor
)

// testUsers are the users of every test server, hashed at bcrypt's
// cheapest cost so that tests stay fast.
var testUsers = sync.OnceValue(func() []User {
	var users []User
	for _, u := range []struct {
		tok      string
		role     Role
		disabled bool
	}{{wangToken, RoleSupervisor, false}, {liToken, RoleOperator, false}, {zhaoToken, RoleViewer, false}, {offToken, RoleSupervisor, true}, {sunToken, RoleSupervisor, false}} {
		name, secret, _ := strings.Cut(u.tok, ":")
		h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		users = append(users, User{Name: name, Role: u.role, Hash: string(h), Disabled: u.disabled})
	}
	return users
})

// asUser sends every request that carries no credentials with tok.
func asUser(h http.Handler, tok string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		h.ServeHTTP(w, r)
	})
}
