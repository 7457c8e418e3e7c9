package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"custodian/admin"
	"custodian/storage/catalog"
	"custodian/storage/export"
	"custodian/storage/staging"
)

// exportStation is a catalog with case C-1 (two staged recordings) served
// by an admin API with an exporter; stop ends the daemon, after which the
// CLI does the export itself.
func exportStation(t *testing.T) (config string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cat, err := catalog.Open(filepath.Join(data, "custodian.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := staging.Open(filepath.Join(data, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"first recording", "second recording"} {
		b, err := st.Put(context.Background(), strings.NewReader(body), int64(len(body)), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: "J0123456", Officer: "012345",
			Name: "r" + string(rune('1'+i)) + ".MP4", StartedAt: goldenNow, ReceivedAt: goldenNow, Size: b.Size, SHA256: b.SHA256,
			State: catalog.StateVerified, Cases: []string{"C-1"}}
		if _, _, err := cat.Add(r, catalog.Event{Type: catalog.EventIngested}); err != nil {
			t.Fatal(err)
		}
	}
	asCLIUser(t)
	// The local account may export too, when no daemon runs.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte(admin.FormatUser(admin.User{Name: me.Username, Role: admin.RoleSupervisor, Hash: string(h)})+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	config = filepath.Join(dir, "custodian.yaml")
	y := "station: st01\ntimezone: UTC\ndata_dir: " + data + "\nadmin: {listen: \"" + ln.Addr().String() + "\", users_file: \"" + users + "\"}\n"
	if err := os.WriteFile(config, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := admin.New(admin.Config{Station: "st01", Version: "test", Location: time.UTC, Users: cliUsers(t),
		Export: &export.Exporter{Catalog: cat, Blobs: st, Station: "st01", TempDir: filepath.Join(data, "export-tmp")}},
		cat, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			cat.Close()
		}
	}
	t.Cleanup(stop)
	return config, stop
}

func TestExportCommand(t *testing.T) {
	config, stop := exportStation(t)
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	dir := filepath.Join(t.TempDir(), "export")
	out, err := cli("export", "--config", config, "--case", "C-1", "--out", dir, "--why", "court order 12")
	if err != nil || !strings.Contains(out, "2 recordings") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if out, err := cli("export", "verify", dir); err != nil || !strings.HasPrefix(out, "ok: 8 files, 2 recordings") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	m, _ := os.ReadFile(filepath.Join(dir, export.ManifestName))
	if !bytes.Contains(m, []byte(`"exported_by": "wang.li"`)) {
		t.Errorf("manifest does not name the caller:\n%s", m)
	}
	// One flipped byte: verify fails, exit 1, naming the file.
	p := filepath.Join(dir, export.IndexName)
	b, _ := os.ReadFile(p)
	b[10] ^= 1
	_ = os.Chmod(p, 0o640)
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
	out, err = cli("export", "verify", dir)
	if exitCode(err) != exitFailure || !strings.Contains(err.Error(), "altered or missing: index.html") {
		t.Errorf("flipped index.html: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if _, err := cli("export", "--config", config, "--case", "C-1", "--out", dir); exitCode(err) != exitUsage {
		t.Errorf("export into a full directory: %v", err)
	}
	// No daemon: the CLI exports from the catalog itself, as the local
	// account, with the station's gate: a second supervisor's approval.
	stop()
	// In one process the earlier calls' keep-alive connections are pooled;
	// a POST on one the server closed reads EOF, not "not running".
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	tarFile := filepath.Join(t.TempDir(), "c1.tar")
	if _, err := cli("export", "--config", config, "--case", "C-1", "--tar", tarFile); err == nil || !strings.Contains(err.Error(), "second supervisor") {
		t.Fatalf("local export without an approval: %v", err)
	}
	approveExport(t, filepath.Join(filepath.Dir(config), "data", "custodian.db"), "C-1")
	if out, err := cli("export", "--config", config, "--case", "C-1", "--tar", tarFile); err != nil {
		t.Fatalf("local export: %v\n%s", err, out)
	}
	if out, err := cli("export", "verify", tarFile); err != nil {
		t.Fatalf("verify tar: %v\n%s", err, out)
	}
	if _, err := cli("export", "--config", config, "--case", "C-none", "--tar", tarFile+"2"); !errors.Is(err, export.ErrNoRecordings) {
		t.Errorf("empty case: %v", err)
	}
}

// approveExport records an export of caseNo asked by one supervisor and
// approved by another, in the catalog at path.
func approveExport(t *testing.T, path, caseNo string) {
	t.Helper()
	cat, err := catalog.Open(path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	now := time.Now()
	q, err := cat.AddRequest(catalog.Request{Kind: catalog.RequestExport, Case: caseNo, By: "li.na", Why: "court order 12",
		At: now, Expires: now.Add(time.Hour)}, nil)
	if err == nil {
		_, _, err = cat.Decide(q.ID, catalog.Decision{By: "sun.yu", At: now, Approve: true}, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
}
