//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"custodian/internal/miniotest"
	"custodian/storage/archive"
)

type archivedRec struct {
	ID             uint64 `json:"id"`
	Name           string `json:"name"`
	State          string `json:"state"`
	Important      bool   `json:"important"`
	ArchiveKey     string `json:"archive_key"`
	ArchiveVersion string `json:"archive_version"`
	Holds          []struct {
		Reason string `json:"reason"`
		By     string `json:"by"`
	} `json:"holds"`
}

func listArchived(t *testing.T, config string, args ...string) []archivedRec {
	t.Helper()
	var resp struct {
		Recordings []archivedRec `json:"recordings"`
	}
	out := cli(t, append([]string{"ls", "--json", "--config", config}, args...)...)
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return resp.Recordings
}

// cliFail runs a subcommand that must fail and returns its stderr.
func cliFail(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err == nil {
		t.Fatalf("custodian %v succeeded:\n%s", args, out)
	}
	return string(out)
}

func TestRetentionEndToEnd(t *testing.T) {
	srv := miniotest.Start(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	access, secret := write("s3-access", srv.AccessKey), write("s3-secret", srv.SecretKey)
	token := write("admin-token", "e2e-token-0123456789abcdef")
	r := newDockRig(t, fmt.Sprintf(`archive:
  endpoint: %s
  bucket: evidence
  access_key_file: %s
  secret_key_file: %s
  secure: false
retention:
  standard: 6mo
`, srv.Endpoint, access, secret))
	cfgText, _ := os.ReadFile(r.config)
	cfgText = []byte(strings.Replace(string(cfgText), "admin: {listen: "+r.addr+", users_file: "+usersFile+"}", "admin: {listen: "+r.addr+", users_file: "+usersFile+", token_file: "+token+"}", 1))
	os.WriteFile(r.config, cfgText, 0o644)

	cli(t, "archive", "init", "--config", r.config)
	d := start(t, r.config, r.addr)
	dockCameras(t, r.dock, 1, 5, func(i int) int64 { return int64(50_000 * i) }) // the 5th is flagged _IMP
	waitFor(t, "every recording archived", 2*time.Minute, func() bool {
		recs := listArchived(t, r.config)
		for _, x := range recs {
			if x.State != "archived" {
				return false
			}
		}
		return len(recs) == 5
	})
	checkClockWatched(t, r.addr)
	a, err := archive.New(archive.Config{Endpoint: srv.Endpoint, Bucket: "evidence", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	legalHold := func(x archivedRec) bool {
		on, err := a.LegalHold(ctx, x.ArchiveKey, x.ArchiveVersion)
		if err != nil {
			t.Fatal(err)
		}
		return on
	}
	var imp, plain archivedRec
	for _, x := range listArchived(t, r.config) {
		if x.Important {
			imp = x
		} else if plain.ID == 0 {
			plain = x
		}
	}
	if len(imp.Holds) != 1 || imp.Holds[0].Reason != "important-flag" || !legalHold(imp) {
		t.Fatalf("important recording not held in catalog and archive: %+v", imp)
	}
	if legalHold(plain) {
		t.Fatal("legal hold on an unheld recording")
	}

	// Hold with a case, through the CLI and the supervisor's token file.
	id := fmt.Sprint(plain.ID)
	cli(t, "hold", "--config", r.config, "--reason", "evidence", "--case", "C2026-0042",
		"--why", "used as evidence in the case file", "--id", id)
	if !legalHold(plain) {
		t.Fatal("no legal hold after custodian hold")
	}
	show := string(cli(t, "case", "show", "--config", r.config, "C2026-0042"))
	if !strings.Contains(show, plain.ArchiveKey) {
		t.Fatalf("case show lacks the archive key:\n%s", show)
	}
	// Without --why, or with a wrong (shared) token, nothing changes.
	cliFail(t, "release", "--config", r.config, "--reason", "evidence", "--id", id)
	os.WriteFile(token, []byte("wrong-token-0123456789abcdef"), 0o600)
	if out := cliFail(t, "release", "--config", r.config, "--reason", "evidence", "--why", "w", "--id", id); !strings.Contains(out, "401") {
		t.Fatalf("wrong token: %s", out)
	}
	os.WriteFile(token, []byte("e2e-token-0123456789abcdef"), 0o600)
	if !legalHold(plain) {
		t.Fatal("legal hold lost to a refused call")
	}
	// The release is a request; the shared token's supervisor approves it.
	var q struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal(cli(t, "release", "--config", r.config, "--reason", "evidence", "--why", "case closed without charges",
		"--id", id, "--json"), &q); err != nil || q.ID == 0 {
		t.Fatalf("release request: %v %+v", err, q)
	}
	if !legalHold(plain) {
		t.Fatal("legal hold lifted before the approval")
	}
	cli(t, "request", "approve", fmt.Sprint(q.ID), "--config", r.config, "--why", "agreed", "--token-file", token)
	if legalHold(plain) {
		t.Fatal("legal hold still on after the release")
	}
	cli(t, "release", "--config", r.config, "--reason", "important-flag", "--why", "reviewed: routine patrol", "--id", fmt.Sprint(imp.ID))
	if legalHold(imp) {
		t.Fatal("legal hold still on after review of the important flag")
	}

	// Seven months on, every recording would be marked; nothing is done now.
	var plan struct {
		Actions []struct {
			Kind string `json:"kind"`
		} `json:"actions"`
	}
	at := time.Now().AddDate(0, 7, 0).Format(time.RFC3339)
	json.Unmarshal(cli(t, "retention", "plan", "--config", r.config, "--at", at, "--json"), &plan)
	marks := 0
	for _, a := range plan.Actions {
		if a.Kind == "mark-expired" {
			marks++
		}
	}
	if marks != 5 {
		t.Fatalf("plan at %s: %+v", at, plan)
	}
	var rep struct {
		Officers []struct {
			Key      string `json:"key"`
			Files    int    `json:"files"`
			Archived int    `json:"archived"`
		} `json:"officers"`
	}
	json.Unmarshal(cli(t, "report", "--config", r.config, "--day", time.Now().In(time.FixedZone("CST", 8*3600)).Add(-8*time.Hour).Format(time.DateOnly), "--json"), &rep)
	total := 0
	for _, o := range rep.Officers {
		total += o.Archived
	}
	if total == 0 {
		t.Fatalf("report counts nothing archived: %+v", rep)
	}

	if out := string(cli(t, "audit", "verify", "--config", r.config)); !strings.Contains(out, "intact") {
		t.Fatalf("audit verify: %s", out)
	}
	d.stop()
	if out := string(cli(t, "audit", "verify", "--config", r.config)); !strings.Contains(out, "intact") {
		t.Fatalf("offline audit verify: %s", out)
	}
	// Tamper with the trail while custodian is stopped: the check names the entry.
	db, err := bolt.Open(filepath.Join(r.data, "custodian.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		// One byte of the entry's content changed (the last: its detail),
		// whether it is stored as JSON or in the binary format.
		b := tx.Bucket([]byte("events"))
		v := append([]byte(nil), b.Get(seqKey(3))...)
		v[len(v)-1] ^= 0x20
		return b.Put(seqKey(3), v)
	})
	db.Close()
	if out := cliFail(t, "audit", "verify", "--config", r.config); !strings.Contains(out, "event 3") {
		t.Fatalf("tampered trail: %s", out)
	}
}

// checkClockWatched: the daemon reports the station clock, trusted here
// (the rig does not require NTP, and nothing steps), in status and metrics.
func checkClockWatched(t *testing.T, addr string) {
	t.Helper()
	var st struct {
		Clock *struct {
			Synchronised *bool  `json:"synchronised"`
			Trusted      bool   `json:"trusted"`
			Reason       string `json:"reason"`
		} `json:"clock"`
	}
	_, body := httpGet(t, "http://"+addr+"/api/v1/status")
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Clock == nil || !st.Clock.Trusted {
		t.Fatalf("station clock in status: %v\n%s", err, body)
	}
	if st.Clock.Synchronised != nil {
		t.Logf("this host's clock synchronised by NTP: %v", *st.Clock.Synchronised)
	}
	if _, m := httpGet(t, "http://"+addr+"/metrics"); !strings.Contains(m, "custodian_clock_trusted 1") {
		t.Errorf("metrics lack custodian_clock_trusted 1")
	}
}

func TestShortRetentionRejected(t *testing.T) {
	r := newDockRig(t, "retention:\n  standard: 90d\n")
	out := cliFail(t, "serve", "--config", r.config)
	if !strings.Contains(out, "retention.standard") || !strings.Contains(out, "legal minimum is 6 months") {
		t.Fatalf("output:\n%s", out)
	}
}

// seqKey is the catalog's key of event n (big-endian uint64).
func seqKey(n uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return b
}
