//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custodian/internal/testenv"
)

// camFile is one file placed on a simulated docked camera.
type camFile struct {
	path, name, device, sha string
	size                    int64
	important               bool
}

// dockRig is a station with one dock and a data dir, all in temp dirs.
type dockRig struct {
	dir, dock, data, config, addr string
}

func newDockRig(t *testing.T, extra string) *dockRig {
	r := &dockRig{dir: t.TempDir()}
	r.dock = filepath.Join(r.dir, "docks", "dock-a")
	r.data = filepath.Join(r.dir, "data")
	r.config = filepath.Join(r.dir, "custodian.yaml")
	r.addr = freeAddr(t)
	os.MkdirAll(r.dock, 0o755)
	cfg := fmt.Sprintf(`station: st01
data_dir: %s
timezone: Asia/Shanghai
admin: {listen: %s, users_file: %s}
%sdocks:
  - id: dock-a
    path: %s
    profile: gat947
    delete_after_ingest: true
    settle: 1s
    scan_interval: 1s
devices:
  - {serial: "J0000001", officer: "100001"}
  - {serial: "J0000002", officer: "100002"}
%s`, r.data, r.addr, usersFile, anyClock, r.dock, extra)
	if err := os.WriteFile(r.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// dockCameras fills cameras with random recordings named the GA/T 947 way,
// with mtimes that agree with the names, and returns what it wrote.
func dockCameras(t *testing.T, dock string, cameras, perCamera int, size func(i int) int64) []camFile {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var files []camFile
	start := time.Now().Add(-8 * time.Hour).Truncate(time.Second)
	for c := 1; c <= cameras; c++ {
		device := fmt.Sprintf("J%07d", c)
		officer := fmt.Sprintf("%06d", 100000+c)
		dir := filepath.Join(dock, fmt.Sprintf("slot%d", c), "DCIM", "100MEDIA")
		os.MkdirAll(dir, 0o755)
		for i := 1; i <= perCamera; i++ {
			at := start.Add(time.Duration(i) * 10 * time.Minute)
			flag := ""
			if i%5 == 0 {
				flag = "_IMP"
			}
			name := fmt.Sprintf("%s_%s_%s_%04d%s.MP4", device, officer,
				at.In(time.FixedZone("CST", 8*3600)).Format("20060102150405"), i, flag)
			p := filepath.Join(dir, name)
			data := make([]byte, size(i))
			for j := range data {
				data[j] = byte(rng.UintN(256))
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, at.Add(5*time.Minute), at.Add(5*time.Minute))
			s := sha256.Sum256(data)
			files = append(files, camFile{path: p, name: name, device: device, sha: hex.EncodeToString(s[:]),
				size: int64(len(data)), important: flag != ""})
		}
	}
	return files
}

// mediaLeft counts the recordings still on the cameras.
func mediaLeft(dock string) int {
	n := 0
	filepath.WalkDir(dock, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && strings.HasSuffix(p, ".MP4") {
			n++
		}
		return nil
	})
	return n
}

func stagedSHA(t *testing.T, data, sha string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "staging", sha[:2], sha))
	if err != nil {
		t.Fatalf("staged copy of %s: %v", sha, err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkAllIngested proves every camera file is in the catalog exactly once,
// verified, with the right metadata, staged intact and released afterwards.
func checkAllIngested(t *testing.T, r *dockRig, files []camFile, recs []recording) {
	t.Helper()
	if len(recs) != len(files) {
		t.Fatalf("%d records for %d files", len(recs), len(files))
	}
	byName := map[string]recording{}
	for _, rec := range recs {
		if _, dup := byName[rec.Name]; dup {
			t.Fatalf("recording %s catalogued twice", rec.Name)
		}
		byName[rec.Name] = rec
	}
	for _, f := range files {
		rec, ok := byName[f.name]
		switch {
		case !ok:
			t.Errorf("%s: not catalogued", f.name)
		case rec.SHA256 != f.sha || rec.Size != f.size:
			t.Errorf("%s: sha %s size %d, camera had %s %d", f.name, rec.SHA256, rec.Size, f.sha, f.size)
		case rec.State != "verified":
			t.Errorf("%s: state %s", f.name, rec.State)
		case rec.Device != f.device || rec.Officer == "" || rec.Important != f.important:
			t.Errorf("%s: metadata %+v", f.name, rec)
		case rec.ReleasedAt.IsZero() || rec.ReleasedAt.Before(rec.VerifiedAt):
			t.Errorf("%s: released %v, verified %v: released before verification", f.name, rec.ReleasedAt, rec.VerifiedAt)
		case stagedSHA(t, r.data, rec.SHA256) != f.sha:
			t.Errorf("%s: staged copy does not hash to %s", f.name, f.sha)
		}
		if _, err := os.Lstat(f.path); err == nil {
			t.Errorf("%s: still on the camera", f.name)
		}
	}
	if parts, _ := os.ReadDir(filepath.Join(r.data, "staging", "tmp")); len(parts) != 0 {
		t.Errorf("%d partial copies left in staging", len(parts))
	}
}

func TestDockEndToEnd(t *testing.T) {
	r := newDockRig(t, "")
	d := start(t, r.config, r.addr)
	// Cameras dock while the daemon runs: 4 cameras, 40 files, ~40 MB.
	files := dockCameras(t, r.dock, 4, 10, func(i int) int64 { return int64(100_000 * (i*3 + 1)) })
	waitFor(t, "the cameras to be emptied", 3*time.Minute, func() bool { return mediaLeft(r.dock) == 0 })
	waitReleased(t, r.config)
	checkAllIngested(t, r, files, listRecordings(t, r.config))

	// Filters through the running daemon's API.
	if got := listRecordings(t, r.config, "--officer", "100002"); len(got) != 10 {
		t.Errorf("officer filter: %d records, want 10", len(got))
	}
	if got := listRecordings(t, r.config, "--device", "J0000003", "--state", "verified"); len(got) != 10 {
		t.Errorf("device+state filter: %d records, want 10", len(got))
	}
	d.stop()
	// With the daemon stopped, ls reads the catalog itself.
	checkAllIngested(t, r, files, listRecordings(t, r.config))
	table := string(cli(t, "ls", "--config", r.config, "--officer", "100001"))
	if !strings.Contains(table, "J0000001_100001_") || !strings.Contains(table, "important") {
		t.Errorf("ls table:\n%s", table)
	}
}

// kill -9 at random instants while cameras are being offloaded: after a
// restart everything is ingested exactly once and nothing is lost.
func TestDockSurvivesKill9(t *testing.T) {
	r := newDockRig(t, "")
	files := dockCameras(t, r.dock, 2, 6, func(i int) int64 { return int64(8_000_000 + i*1_000_000) })
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	for round := 0; round < 4 && mediaLeft(r.dock) > 0; round++ {
		d := start(t, r.config, r.addr)
		d.waitLog("msg=found", time.Minute)
		time.Sleep(time.Duration(rng.IntN(80)) * time.Millisecond)
		d.kill9()
		left := mediaLeft(r.dock)
		t.Logf("round %d: killed with %d files left on the cameras", round, left)
		if round == 0 && left == 0 {
			t.Fatal("the first kill came after the offload finished; the test proves nothing")
		}
	}
	d := start(t, r.config, r.addr)
	waitFor(t, "the cameras to be emptied", 3*time.Minute, func() bool { return mediaLeft(r.dock) == 0 })
	waitReleased(t, r.config)
	d.stop()
	checkAllIngested(t, r, files, listRecordings(t, r.config))
}

func TestBadConfigExitsWithEveryProblem(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte(`station: st01
data_dir: `+dir+`
docks:
  - {id: a, path: /nonexistent/a, colour: red}
  - {id: a, path: /nonexistent/b}
`), 0o644)
	out, err := runExpectFail(binary, "serve", "--config", cfg)
	if code := exitCodeOf(err); code != 3 {
		t.Fatalf("exit code %d, want 3 (config)\n%s", code, out)
	}
	for _, want := range []string{"docks[0].colour: unknown key", "docks[0].path: /nonexistent/a", "docks[1].id: duplicate dock id", "docks[1].path: /nonexistent/b"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// A staging disk that fills up: the copy fails cleanly, the camera keeps the
// file, and it is ingested once there is room again.
func TestDockStagingFull(t *testing.T) {
	r := newDockRig(t, "")
	os.MkdirAll(r.data, 0o755)
	testenv.MountTmpfs(t, r.data, "8m")
	files := dockCameras(t, r.dock, 1, 3, func(i int) int64 {
		if i == 2 {
			return 12 << 20 // does not fit
		}
		return 200 << 10
	})
	d := start(t, r.config, r.addr)
	d.waitLog("kind=staging_full", time.Minute)
	waitFor(t, "the small files", time.Minute, func() bool { return mediaLeft(r.dock) == 1 })
	if _, err := os.Stat(files[1].path); err != nil {
		t.Fatalf("the file that did not fit left the camera: %v", err)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", r.data).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	waitFor(t, "the big file after space came back", time.Minute, func() bool { return mediaLeft(r.dock) == 0 })
	waitReleased(t, r.config)
	d.stop()
	checkAllIngested(t, r, files, listRecordings(t, r.config))
}

// waitReleased waits until every recording's release from its camera is
// recorded; the record follows the delete by a moment.
func waitReleased(t *testing.T, config string) {
	t.Helper()
	waitFor(t, "every release to be recorded", 30*time.Second, func() bool {
		for _, rec := range listRecordings(t, config) {
			if rec.ReleasedAt.IsZero() {
				return false
			}
		}
		return true
	})
}
