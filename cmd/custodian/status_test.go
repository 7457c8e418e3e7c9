package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"golang.org/x/crypto/bcrypt"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/hardware/disk"
	"custodian/internal/config"
	"custodian/storage/catalog"
)

const cliToken = "cli-test-token-0123456789abcdef"

// cliUserToken is the token of the test user wang.li, a supervisor.
const cliUserToken = "wang.li:cli-user-SECRET-0123456789abcdef"

// asCLIUser makes the commands of this test authenticate as wang.li, with
// a token file; it returns the path of a users file that lists wang.li.
func asCLIUser(t *testing.T) (usersFile string) {
	t.Helper()
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte(cliUserToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenFileEnv, tok)
	usersFile = filepath.Join(dir, "users")
	if err := os.WriteFile(usersFile, []byte(admin.FormatUser(cliUsers(t)[0])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return usersFile
}

// cliUsers are the users of the test daemons.
func cliUsers(t *testing.T) []admin.User {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(strings.TrimPrefix(cliUserToken, "wang.li:")), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return []admin.User{{Name: "wang.li", Role: admin.RoleSupervisor, Hash: string(h)}}
}

// startAdmin serves a real admin API on a loopback port and returns a config
// file that points at it.
func startAdmin(t *testing.T, token string) (configPath string, cat *catalog.Catalog) {
	t.Helper()
	dir := t.TempDir()
	cat, err := catalog.Open(filepath.Join(dir, "custodian.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	srv := admin.New(admin.Config{Station: "st01", Version: "test", Token: token, Users: cliUsers(t),
		Health: func() disk.Report {
			return disk.Report{Level: disk.LevelWarning, Volumes: []disk.VolumeHealth{{
				Role: "staging", Level: disk.LevelWarning, TotalBytes: 100 << 30, FreeBytes: 10 << 30, Device: "sdb1",
				Problems: []string{"space free 10.0% (warning below 15%)"}, SMART: disk.SMART{Note: "smartctl not installed"}}}}
		},
	}, cat, prometheus.NewRegistry(), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(cliToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	configPath = writeConfig(t, dir, ln.Addr().String(), tokenFile)
	return configPath, cat
}

func writeConfig(t *testing.T, dir, listen, tokenFile string) string {
	t.Helper()
	p := filepath.Join(dir, "custodian.yaml")
	y := "station: st01\ndata_dir: " + filepath.Join(dir, "data") + "\nadmin: {listen: \"" + listen + "\", token_file: \"" + tokenFile + "\"}\n"
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatusCommand(t *testing.T) {
	cfgPath, _ := startAdmin(t, cliToken)
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"status", "--config", cfgPath}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{"station st01 (custodian test): WARNING", "STORAGE", "staging  warning  10.0 GiB free of 100.0 GiB (10.0%)  sdb1",
		"RECORDINGS", "staged 0  verified 0  archived 0  expiring 0  expired 0  missing 0  corrupt 0", "DOCKS", "none configured",
		"WARNING   staging: space free 10.0% (warning below 15%)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(t.Context(), []string{"status", "--json", "--config", cfgPath}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v["station"] != "st01" || v["level"] != "warning" {
		t.Fatalf("--json: %v %v", err, v)
	}
}

func TestStatusNotRunning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := writeConfig(t, t.TempDir(), addr, "")
	err = run(t.Context(), []string{"status", "--config", p}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, errNotRunning) || exitCode(err) != exitFailure {
		t.Fatalf("err %v", err)
	}
}

func TestClientMutations(t *testing.T) {
	cfgPath, cat := startAdmin(t, "")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Admin.TokenFile = ""
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.withToken(""); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "no credentials") {
		t.Fatalf("client without credentials: %v", err)
	}
	if err := c.get(t.Context(), "/api/v1/status", nil, nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("read without credentials: %v", err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(cliUserToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenFileEnv, tokenFile)
	if c, err = newClient(cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.withToken(""); err != nil {
		t.Fatal(err)
	}
	var resp api.NoteResponse
	if err := c.post(t.Context(), "/api/v1/notes", api.NoteRequest{Text: "daily check done"}, &resp); err != nil || !resp.Recorded || resp.Actor != "wang.li" {
		t.Fatalf("note: %v %+v", err, resp)
	}
	ev, _ := cat.RecentEvents(1)
	if len(ev) != 1 || ev[0].Actor != "wang.li" || ev[0].Detail != "daily check done" {
		t.Fatalf("events %+v", ev)
	}
	// A JSON error answer becomes a Go error with the server's message.
	err = c.post(t.Context(), "/api/v1/recordings/42/notes", api.NoteRequest{Text: "x"}, nil)
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != 404 || err.Error() != "admin API: 404 Not Found: recording 42 not found" {
		t.Fatalf("err %v", err)
	}
	// Naming someone else changes nothing.
	if err := c.withToken("li.na"); err != nil {
		t.Fatal(err)
	}
	err = c.post(t.Context(), "/api/v1/notes", api.NoteRequest{Text: "x"}, nil)
	if !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("forged --by: %v", err)
	}
	c.token = "wrong-token-0000000000"
	err = c.post(t.Context(), "/api/v1/notes", api.NoteRequest{Text: "x"}, nil)
	if !errors.As(err, &ae) || ae.Status != 401 || strings.Contains(err.Error(), c.token) {
		t.Fatalf("err %v", err)
	}
	if err := c.withToken("bad actor"); exitCode(err) != exitUsage {
		t.Fatalf("bad actor: %v", err)
	}
	if n, _ := cat.VerifyEvents(); n != 1 {
		t.Fatalf("%d events, want the one note", n)
	}
}

func TestPrintClock(t *testing.T) {
	yes, no, maxErr := true, false, 16.0
	tests := []struct {
		name  string
		clock *api.Clock
		want  string
	}{
		{"not watched", nil, ""},
		{"unsynchronised", &api.Clock{Synchronised: &no, MaxErrorSeconds: &maxErr, Reason: "the kernel reports the clock unsynchronised"},
			"\nCLOCK\n  NOT TRUSTED: retention evicts, expires and deletes nothing, not synchronised, error up to 16 s\n  the kernel reports the clock unsynchronised\n"},
		{"system does not say", &api.Clock{Trusted: true}, "\nCLOCK\n  trusted, synchronisation unknown\n"},
		{"synchronised", &api.Clock{Trusted: true, Synchronised: &yes}, "\nCLOCK\n  trusted, synchronised\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printClock(&b, tc.clock)
			if b.String() != tc.want {
				t.Fatalf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}
