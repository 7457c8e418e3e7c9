//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"custodian/internal/testenv"
)

// roomPython is the interpreter that has the Debian python3-gi package.
func roomPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			if exec.Command(path, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer").Run() == nil {
				return path
			}
		}
	}
	testenv.Need(t, "GStreamer's RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0)")
	return ""
}

// gstCamera is scripts/rtsp-server.py: GStreamer's RTSP server with live
// H.264 test video and G.711 audio.
type gstCamera struct {
	t          *testing.T
	python     string
	port       int
	user, pass string
	cmd        *exec.Cmd
	url        string   // without credentials
	extra      []string // more rtsp-server.py arguments
}

func newGstCamera(t *testing.T, user, pass string) *gstCamera {
	t.Helper()
	for _, tool := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Need(t, tool)
		}
	}
	c := &gstCamera{t: t, python: roomPython(t), user: user, pass: pass}
	c.start()
	t.Cleanup(c.kill)
	return c
}

func (c *gstCamera) start() {
	c.t.Helper()
	args := []string{"../scripts/rtsp-server.py", "--port", strconv.Itoa(c.port)}
	if c.user != "" {
		args = append(args, "--user", c.user, "--password", c.pass)
	}
	args = append(args, c.extra...)
	c.cmd = exec.Command(c.python, args...)
	c.cmd.Stderr = os.Stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- u
			}
		}
	}()
	select {
	case u := <-ready:
		c.url = u
		if c.port == 0 {
			p := u[strings.LastIndex(u, ":")+1:]
			c.port, _ = strconv.Atoi(p[:strings.Index(p, "/")])
		}
	case <-time.After(20 * time.Second):
		c.t.Fatal("rtsp-server.py did not become ready")
	}
}

// kill ends the camera the hard way, as a power cut or a crash would.
func (c *gstCamera) kill() {
	if c.cmd != nil && c.cmd.ProcessState == nil {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
}

// urlWith returns the camera URL carrying user and password.
func (c *gstCamera) urlWith(user, pass string) string {
	return strings.Replace(c.url, "rtsp://", "rtsp://"+user+":"+pass+"@", 1)
}

type roomRig struct {
	dir, config, addr, data string
}

// newRoomRig writes a config with one room whose URL (with its credentials)
// is in a url_file, as in production.
func newRoomRig(t *testing.T, room, url string) *roomRig {
	t.Helper()
	dir := t.TempDir()
	r := &roomRig{dir: dir, config: filepath.Join(dir, "custodian.yaml"), addr: freeAddr(t), data: filepath.Join(dir, "data")}
	urlFile := filepath.Join(dir, room+".url")
	if err := os.WriteFile(urlFile, []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(token, []byte("rooms-e2e-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "station: st01\ndata_dir: " + r.data + "\nadmin: {listen: " + r.addr + ", token_file: " + token + ", users_file: " + usersFile + "}\n" + anyClock +
		"rooms:\n  - id: " + room + "\n    url_file: " + urlFile + "\n    transport: tcp\n    segment: 10s\n"
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

type roomSegment struct {
	ID        uint64    `json:"id"`
	Name      string    `json:"name"`
	SHA256    string    `json:"sha256"`
	State     string    `json:"state"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	Flags     []string  `json:"flags"`
	Codecs    []string  `json:"codecs"`
	Case      string    `json:"case"`
	Cases     []string  `json:"cases"`
	Sessions  []uint64  `json:"sessions"`
	Subject   string    `json:"subject"`
	Officers  []string  `json:"officers"`
	Holds     []struct {
		Reason string `json:"reason"`
		Case   string `json:"case"`
	} `json:"holds"`
}

type roomGap struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason"`
}

type roomListing struct {
	Connected bool          `json:"connected"`
	Segments  []roomSegment `json:"segments"`
	Gaps      []roomGap     `json:"gaps"`
	Sessions  []struct {
		ID        uint64    `json:"id"`
		Case      string    `json:"case"`
		StartedAt time.Time `json:"started_at"`
		EndedAt   time.Time `json:"ended_at"`
	} `json:"sessions"`
}

func (r *roomRig) ls(t *testing.T, room string) roomListing {
	t.Helper()
	var out roomListing
	b := cli(t, "ls", "--config", r.config, "--room", room, "--json")
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("ls --room: %v\n%s", err, b)
	}
	return out
}

type roomStatus struct {
	ID         string `json:"id"`
	Connected  bool   `json:"connected"`
	Reconnects int    `json:"reconnects"`
	LastError  string `json:"last_error"`
}

func (r *roomRig) status(t *testing.T) (rooms []roomStatus, raw string) {
	t.Helper()
	res, err := apiGet("http://" + r.addr + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var st struct {
		Rooms []roomStatus `json:"rooms"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("status: %v\n%s", err, b)
	}
	return st.Rooms, string(b)
}

func (r *roomRig) connected(t *testing.T) bool {
	rooms, _ := r.status(t)
	return len(rooms) == 1 && rooms[0].Connected
}

func (r *roomRig) blob(sha string) string { return filepath.Join(r.data, "staging", sha[:2], sha) }

// probe checks that a segment decodes without error and has H.264 video and
// G.711 audio, and returns its video duration.
func probe(t *testing.T, path string) time.Duration {
	t.Helper()
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("ffmpeg cannot decode %s cleanly: %v\n%s", path, err, out)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct {
		Streams []struct {
			Type     string `json:"codec_type"`
			Name     string `json:"codec_name"`
			Duration string `json:"duration"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	var video time.Duration
	var names []string
	for _, s := range res.Streams {
		names = append(names, s.Name)
		if s.Type == "video" {
			sec, _ := strconv.ParseFloat(s.Duration, 64)
			video = time.Duration(sec * float64(time.Second))
		}
	}
	if got := strings.Join(names, ","); got != "h264,pcm_mulaw" {
		t.Errorf("%s: streams %s, want h264,pcm_mulaw", path, got)
	}
	return video
}

// checkDurations compares the media in the segments with the station time
// they span minus the recorded gaps.
func checkDurations(t *testing.T, r *roomRig, l roomListing) {
	t.Helper()
	var media time.Duration
	for _, s := range l.Segments {
		probe(t, r.blob(s.SHA256))
		// Where video begins and ends: a segment opened by a session's
		// audio cut starts with audio, its video at the next keyframe.
		video, _ := streamSpans(t, r.blob(s.SHA256))
		media += time.Duration((video.end - video.start) * float64(time.Second))
	}
	first, last := l.Segments[0], l.Segments[len(l.Segments)-1]
	wall := last.EndedAt.Sub(first.StartedAt)
	for _, g := range l.Gaps {
		if !g.Start.Before(first.StartedAt) && !g.End.After(last.EndedAt) {
			wall -= g.End.Sub(g.Start)
		}
	}
	if diff := math.Abs(float64(media-wall)) / float64(wall); diff > 0.02 {
		t.Errorf("segments hold %s of video; station time minus gaps is %s (%.1f%% off, limit 2%%)", media, wall, diff*100)
	} else {
		t.Logf("segments hold %s of video; station time minus gaps is %s", media, wall)
	}
}

func TestRoomEndToEnd(t *testing.T) {
	cam := newGstCamera(t, "camuser", "Cam-Secret-77")
	r := newRoomRig(t, "interview-1", cam.urlWith("camuser", "Cam-Secret-77"))
	d := start(t, r.config, r.addr)
	d.waitLog("room segment opened", 20*time.Second)

	out := cli(t, "interview", "start", "--config", r.config, "--room", "interview-1",
		"--case", "A-2026-0042", "--subject", "P-1", "--officer", "012345", "--officer", "054321", "--note", "first interview")
	if !strings.Contains(string(out), "started") {
		t.Errorf("interview start said %q", out)
	}
	time.Sleep(13 * time.Second) // past the first cut (10 s, then the next keyframe)

	cam.kill()
	waitFor(t, "disconnect noticed", 15*time.Second, func() bool { return !r.connected(t) })
	time.Sleep(2 * time.Second)
	cam.start()
	waitFor(t, "reconnected", 30*time.Second, func() bool { return r.connected(t) })
	time.Sleep(6 * time.Second)
	cli(t, "interview", "stop", "--config", r.config, "--room", "interview-1")
	time.Sleep(time.Second)
	live := r.ls(t, "interview-1")
	d.stop()

	l := r.ls(t, "interview-1") // the daemon is down: read from the catalog
	if !live.Connected || l.Connected {
		t.Errorf("connected while running %v, after stop %v", live.Connected, l.Connected)
	}
	if len(l.Segments) < 3 {
		t.Fatalf("%d segments, want at least 3", len(l.Segments))
	}
	if len(l.Gaps) != 1 || l.Gaps[0].Reason != "disconnect" || !l.Gaps[0].End.After(l.Gaps[0].Start) {
		t.Errorf("gaps %+v, want one disconnect", l.Gaps)
	}
	if len(l.Sessions) != 1 || l.Sessions[0].EndedAt.IsZero() {
		t.Fatalf("sessions %+v, want one stopped session", l.Sessions)
	}
	started, stopped := l.Sessions[0].StartedAt, l.Sessions[0].EndedAt
	for _, s := range l.Segments {
		if s.State != "verified" || strings.Join(s.Codecs, ",") != "h264,pcm_mulaw" || len(s.Flags) != 0 {
			t.Errorf("segment %+v", s)
		}
		if s.StartedAt.Before(started) || !s.StartedAt.Before(stopped) {
			// The start and the stop cut the segment: what comes before
			// and after belongs to no session.
			if s.Case != "" || len(s.Holds) != 0 {
				t.Errorf("segment %s after the session is linked to it: %+v", s.Name, s)
			}
			continue
		}
		if s.Case != "A-2026-0042" || s.Subject != "P-1" || len(s.Officers) != 2 || len(s.Holds) != 1 || s.Holds[0].Reason != "evidence" || s.Holds[0].Case != "A-2026-0042" {
			t.Errorf("segment %s not linked to the session: %+v", s.Name, s)
		}
	}
	checkDurations(t, r, l)
	for _, secret := range []string{"Cam-Secret-77", "camuser:"} {
		if strings.Contains(d.log.String(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

func TestRoomSurvivesKill9(t *testing.T) {
	cam := newGstCamera(t, "", "")
	r := newRoomRig(t, "interview-2", cam.url)
	d := start(t, r.config, r.addr)
	d.waitLog("room segment opened", 20*time.Second)
	time.Sleep(6 * time.Second) // mid-segment: several fragments written
	d.kill9()

	d2 := start(t, r.config, r.addr)
	d2.waitLog("room segment sealed", 20*time.Second)
	d2.waitLog("room gap", 20*time.Second)
	time.Sleep(2 * time.Second)
	d2.stop()

	l := r.ls(t, "interview-2")
	if len(l.Segments) < 2 {
		t.Fatalf("%d segments, want the recovered one and a new one", len(l.Segments))
	}
	rec := l.Segments[0]
	if len(rec.Flags) != 1 || rec.Flags[0] != "recovered" {
		t.Errorf("first segment %+v, want flagged recovered", rec)
	}
	if d := probe(t, r.blob(rec.SHA256)); d < 4*time.Second {
		t.Errorf("recovered segment holds %s of video, want most of the 6 s before the kill", d)
	}
	if len(l.Gaps) != 1 || l.Gaps[0].Reason != "crash" {
		t.Errorf("gaps %+v, want one crash gap", l.Gaps)
	}
	if entries, _ := os.ReadDir(filepath.Join(r.data, "rooms", "interview-2", "open")); len(entries) != 0 {
		t.Errorf("open segments left after a clean stop: %v", entries)
	}
}

func TestRoomWrongCredentials(t *testing.T) {
	cam := newGstCamera(t, "camuser", "right-pass")
	r := newRoomRig(t, "interview-3", cam.urlWith("camuser", "Wrong-Pass-99"))
	d := start(t, r.config, r.addr)
	waitFor(t, "a refused attempt", 20*time.Second, func() bool {
		rooms, _ := r.status(t)
		return len(rooms) == 1 && rooms[0].Reconnects >= 2
	})
	rooms, raw := r.status(t)
	if rooms[0].Connected || !strings.Contains(rooms[0].LastError, "401") {
		t.Errorf("status %+v, want disconnected with a 401", rooms[0])
	}
	// An interview may start while the feed is down, but not quietly.
	cmd := exec.Command(binary, "interview", "start", "--config", r.config, "--room", "interview-3",
		"--case", "C-1", "--subject", "S-1", "--officer", "012345")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("interview start: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "WARNING") || !strings.Contains(stderr.String(), "DOWN") {
		t.Errorf("interview start on a down feed warned only %q", stderr.String())
	}
	d.stop()
	for _, secret := range []string{"Wrong-Pass-99", "camuser:"} {
		if strings.Contains(d.log.String(), secret) || strings.Contains(raw, secret) {
			t.Errorf("%q appears in the log or status", secret)
		}
	}
}

// TestRoomDiskFull fills the data filesystem (a small tmpfs) while a room
// records, then frees it: the hole is a write_error gap, what was written
// before is sealed, and recording resumes on its own.
func TestRoomDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Need(t, "root (to mount a small tmpfs)")
	}
	cam := newGstCamera(t, "", "")
	r := newRoomRig(t, "interview-4", cam.url)
	if err := os.MkdirAll(r.data, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", r.data).CombinedOutput(); err != nil {
		testenv.Need(t, "a tmpfs mount: "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", r.data).Run() })
	d := start(t, r.config, r.addr)
	d.waitLog("room segment opened", 20*time.Second)
	time.Sleep(3 * time.Second)

	filler := filepath.Join(r.data, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // ENOSPC: the disk is full
		}
	}
	f.Close()
	d.waitLog("no space left on device", 20*time.Second)
	time.Sleep(3 * time.Second)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recording resumed", 40*time.Second, func() bool {
		return strings.Count(d.log.String(), "room segment opened") >= 2 && strings.Contains(d.log.String(), "room gap")
	})
	time.Sleep(2 * time.Second)
	d.stop()

	l := r.ls(t, "interview-4")
	var reasons []string
	for _, g := range l.Gaps {
		reasons = append(reasons, g.Reason)
	}
	if len(l.Gaps) != 1 || l.Gaps[0].Reason != "write_error" {
		t.Errorf("gaps %v, want one write_error", reasons)
	}
	if len(l.Segments) < 2 {
		t.Fatalf("%d segments, want the one cut short by the full disk and one after", len(l.Segments))
	}
	for _, s := range l.Segments {
		probe(t, r.blob(s.SHA256))
	}
	if entries, _ := os.ReadDir(filepath.Join(r.data, "rooms", "interview-4", "open")); len(entries) != 0 {
		t.Errorf("open segments left: %v", entries)
	}
}
