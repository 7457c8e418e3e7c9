//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"custodian/internal/miniotest"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// exportRig is a station with a dock, an interview room on GStreamer's
// RTSP server and a real MinIO archive.
type exportRig struct {
	dir, config, dock, addr, data string
}

func newExportRig(t *testing.T, srv *miniotest.Server, camURL string) exportRig {
	t.Helper()
	dir := t.TempDir()
	r := exportRig{dir: dir, config: filepath.Join(dir, "custodian.yaml"), dock: filepath.Join(dir, "docks", "dock-a"),
		addr: freeAddr(t), data: filepath.Join(dir, "data")}
	if err := os.MkdirAll(r.dock, 0o750); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"s3-access": srv.AccessKey, "s3-secret": srv.SecretKey, "room.url": camURL}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`station: st01
data_dir: %s
timezone: Asia/Shanghai
admin: {listen: "%s", users_file: %s}
%sdocks:
  - {id: dock-a, path: %s, profile: gat947, settle: 1s, scan_interval: 1s}
devices:
  - {serial: J0123456, officer: "012345"}
rooms:
  - {id: interview-1, url_file: %s, transport: tcp, segment: 10s}
archive:
  endpoint: %s
  bucket: evidence
  access_key_file: %s
  secret_key_file: %s
  secure: false
`, r.data, r.addr, usersFile, anyClock, r.dock, filepath.Join(dir, "room.url"), srv.Endpoint,
		filepath.Join(dir, "s3-access"), filepath.Join(dir, "s3-secret"))
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// caseRecordings lists the case's recordings through case show --json.
func (r exportRig) caseRecordings(t *testing.T, c string) []archivedRec {
	t.Helper()
	var resp struct {
		Recordings []archivedRec `json:"recordings"`
	}
	out := cli(t, "case", "show", "--json", "--config", r.config, c)
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("case show: %v\n%s", err, out)
	}
	return resp.Recordings
}

// evict removes one recording's staged copy as retention's eviction does
// (staging removes the blob, the catalog records it), the daemon stopped:
// from then on only MinIO holds its bytes.
func (r exportRig) evict(t *testing.T, id uint64) {
	t.Helper()
	cat, err := catalog.Open(filepath.Join(r.data, "custodian.db"), catalog.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	st, err := staging.Open(filepath.Join(r.data, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cat.Update(id, func(x *catalog.Recording) error { x.EvictedAt = time.Now().UTC(); return nil },
		catalog.Event{Type: catalog.EventEvicted, Detail: "e2e: local copy evicted"})
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := st.Remove(rec.SHA256, func() (bool, error) { return false, nil }); err != nil || !removed {
		t.Fatalf("evict %d: removed %v, %v", id, removed, err)
	}
}

func TestCourtExport(t *testing.T) {
	srv := miniotest.Start(t)
	cam := newGstCamera(t, "", "")
	r := newExportRig(t, srv, cam.url)
	cli(t, "archive", "init", "--config", r.config)
	camDir := filepath.Join(r.dock, "CAM1", "DCIM", "100MEDIA")
	if err := os.MkdirAll(camDir, 0o750); err != nil {
		t.Fatal(err)
	}
	dockFile := filepath.Join(camDir, "J0123456_012345_20261121083015_0001.MP4")
	if err := os.WriteFile(dockFile, []byte(strings.Repeat("body-cam footage ", 5000)), 0o640); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 11, 21, 0, 31, 15, 0, time.UTC)
	if err := os.Chtimes(dockFile, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	const caseID = "C-2026-0042"
	d := start(t, r.config, r.addr)
	d.waitLog("room segment opened", 30*time.Second)
	// An interview of 13 s in 10 s segments: two segments belong to it.
	cli(t, "interview", "start", "--config", r.config, "--room", "interview-1", "--case", caseID, "--subject", "P-7", "--officer", "012345")
	time.Sleep(13 * time.Second)
	cli(t, "interview", "stop", "--config", r.config, "--room", "interview-1")
	var dockID uint64
	waitFor(t, "the dock recording", time.Minute, func() bool {
		for _, x := range listArchived(t, r.config, "--device", "J0123456") {
			dockID = x.ID
		}
		return dockID != 0
	})
	cli(t, "case", "link", "--config", r.config, "--case", caseID, "--id", strconv.FormatUint(dockID, 10), "--why", "seized at the scene")
	var recs []archivedRec
	waitFor(t, "the case's recordings archived", 2*time.Minute, func() bool {
		recs = r.caseRecordings(t, caseID)
		n := 0
		for _, x := range recs {
			if x.State == "archived" {
				n++
			}
		}
		return n >= 3 && n == len(recs)
	})
	if len(recs) != 3 {
		t.Fatalf("case %s has %d recordings, want 1 dock recording and 2 segments: %+v", caseID, len(recs), recs)
	}
	d.stop() // ships the open custody trail to MinIO: the anchors
	segment := recs[len(recs)-1]
	if segment.ID == dockID {
		segment = recs[0]
	}
	r.evict(t, segment.ID)
	d = start(t, r.config, r.addr)

	out := filepath.Join(t.TempDir(), "export")
	if b, err := exec.Command(binary, "export", "--config", r.config, "--case", caseID, "--out", out).CombinedOutput(); err == nil {
		t.Fatalf("an export without a second supervisor's approval went ahead:\n%s", b)
	}
	approveExport(t, r.config, caseID)
	got := string(cli(t, "export", "--config", r.config, "--case", caseID, "--out", out, "--why", "court order 2026-77"))
	if !strings.Contains(got, "3 recordings") || strings.Contains(got, "(0 archived)") {
		t.Errorf("export: %s", got)
	}
	m, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m), `"fetched_from": "archive"`) || !strings.Contains(string(m), `"exported_by": "`+e2eUser+`"`) {
		t.Errorf("manifest: no recording fetched from the archive, or not by %s:\n%s", e2eUser, m)
	}
	sums := exec.Command("sha256sum", "-c", "--strict", "SHA256SUMS")
	sums.Dir = out
	if b, err := sums.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, b)
	}
	t.Logf("export verify: %s", cli(t, "export", "verify", out))

	// One flipped byte in any file: verify fails and names it.
	flipEach(t, out)

	tarFile := filepath.Join(t.TempDir(), "case.tar")
	approveExport(t, r.config, caseID) // one approval, one export
	cli(t, "export", "--config", r.config, "--case", caseID, "--tar", tarFile)
	cli(t, "export", "verify", tarFile)
	if b := cli(t, "audit", "verify", "--config", r.config); !strings.Contains(string(b), "intact") {
		t.Errorf("audit verify after the exports: %s", b)
	}
	d.stop()
}

func flipEach(t *testing.T, dir string) {
	t.Helper()
	var names []string
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, _ error) error {
		if !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	for _, name := range names {
		p := filepath.Join(dir, name)
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b := append([]byte(nil), orig...)
		b[len(b)/2] ^= 0x20
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
		out, err := runExpectFail(binary, "export", "verify", dir)
		if exitCodeOf(err) != 1 || !strings.Contains(out, "altered or missing: "+name+"\n") {
			t.Errorf("%s flipped: exit %d\n%s", name, exitCodeOf(err), out)
		}
		if err := os.WriteFile(p, orig, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := runExpectFail(binary, "export", "verify", dir); err != nil {
		t.Errorf("restored export: %v\n%s", err, out)
	}
	t.Logf("flipped a byte in each of %d files: each named", len(names))
}

// approveExport has the e2e supervisor ask to export caseNo and the second
// supervisor approve it.
func approveExport(t *testing.T, config, caseNo string) {
	t.Helper()
	approveRequest(t, config, cli(t, "request", "export", "--config", config, "--case", caseNo, "--why", "court order 2026-77", "--json"))
}

// approveRequest has the second supervisor approve the request whose JSON
// (as the CLI printed it for the e2e supervisor who asked) is asked.
func approveRequest(t *testing.T, config string, asked []byte) {
	t.Helper()
	var q struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal(asked, &q); err != nil || q.ID == 0 {
		t.Fatalf("request: %v\n%s", err, asked)
	}
	cmd := exec.Command(binary, "request", "approve", strconv.FormatUint(q.ID, 10), "--why", "seen and agreed", "--config", config)
	cmd.Env = append(os.Environ(), "CUSTODIAN_TOKEN_FILE="+secondTokenFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("approve request %d: %v\n%s", q.ID, err, out)
	}
}
