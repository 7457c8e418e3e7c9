//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custodian/internal/testenv"
)

const pushSecret = "Push-Secret-42"

// newPushRig writes a config with one room whose recorder pushes to
// rtsp://127.0.0.1:<free port>/<room>, its credentials in a private file.
func newPushRig(t *testing.T, room string) (r *roomRig, listen string) {
	t.Helper()
	dir := t.TempDir()
	r = &roomRig{dir: dir, config: filepath.Join(dir, "custodian.yaml"), addr: freeAddr(t), data: filepath.Join(dir, "data")}
	creds := filepath.Join(dir, room+".credentials")
	if err := os.WriteFile(creds, []byte("recorder:"+pushSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen = "rtsp://" + freeAddr(t) + "/" + room
	cfg := "station: st01\ndata_dir: " + r.data + "\nadmin: {listen: " + r.addr + ", users_file: " + usersFile + "}\n" + anyClock +
		"rooms:\n  - id: " + room + "\n    listen: " + listen + "\n    credentials_file: " + creds + "\n    segment: 10s\n"
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return r, listen
}

// withUser puts user:pass into a listen URL, as a recorder is configured.
func withUser(listen, user, pass string) string {
	return strings.Replace(listen, "rtsp://", "rtsp://"+user+":"+pass+"@", 1)
}

// roomState is the room's status as the API shows it.
func roomState(t *testing.T, r *roomRig) (listen, reason string, raw string) {
	t.Helper()
	_, raw = r.status(t)
	var st struct {
		Rooms []struct {
			Listen string `json:"listen"`
			Reason string `json:"not_recording_reason"`
		} `json:"rooms"`
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil || len(st.Rooms) != 1 {
		t.Fatalf("status: %v\n%s", err, raw)
	}
	return st.Rooms[0].Listen, st.Rooms[0].Reason, raw
}

// runFor runs a command for at most d and returns its combined output.
func runFor(t *testing.T, d time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// ffmpegPush is an interview recorder: ffmpeg pushing, in real time,
// H.264 test video (a keyframe each second) and G.711 mu-law audio over
// RTSP/TCP for the given seconds.
func ffmpegPush(t *testing.T, url, seconds string) (string, error) {
	t.Helper()
	return runFor(t, 60*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000",
		"-t", seconds, "-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1",
		"-f", "rtsp", "-rtsp_transport", "tcp", url)
}

// checkPushed checks what custodian recorded of a room's pushes: sealed,
// playable segments with both tracks, listed by `custodian ls --room`.
func checkPushed(t *testing.T, r *roomRig, room string, least int) roomListing {
	t.Helper()
	l := r.ls(t, room)
	if len(l.Segments) < least {
		t.Fatalf("%d segments, want at least %d", len(l.Segments), least)
	}
	for _, s := range l.Segments {
		if s.State != "verified" || strings.Join(s.Codecs, ",") != "h264,pcm_mulaw" {
			t.Errorf("segment %+v", s)
		}
		probe(t, r.blob(s.SHA256))
	}
	return l
}

// An interview recorder that pushes (ffmpeg, ANNOUNCE/RECORD over TCP) is
// recorded into playable segments with both tracks; one with the wrong
// password is refused, and the status says so without the password.
func TestRoomPushFFmpeg(t *testing.T) {
	for _, tool := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Need(t, tool)
		}
	}
	r, listen := newPushRig(t, "room-3")
	d := start(t, r.config, r.addr)
	d.waitLog("rtsp push server listening", 10*time.Second)
	if l, reason, _ := roomState(t, r); l != listen || reason != "waiting for recorder" {
		t.Errorf("status before any push: listen %q reason %q", l, reason)
	}

	if out, err := ffmpegPush(t, withUser(listen, "recorder", "Wrong-Pass-99"), "3"); err == nil {
		t.Errorf("a push with the wrong password succeeded:\n%s", out)
	}
	if _, reason, raw := roomState(t, r); reason != "auth refused" || strings.Contains(raw, "Wrong-Pass-99") {
		t.Errorf("status after a refused push: reason %q\n%s", reason, raw)
	}

	if out, err := ffmpegPush(t, withUser(listen, "recorder", pushSecret), "25"); err != nil {
		t.Fatalf("ffmpeg push: %v\n%s", err, out)
	}
	d.waitLog("room recorder left", 15*time.Second)
	if _, reason, _ := roomState(t, r); reason != "waiting for recorder" {
		t.Errorf("status after the push: reason %q", reason)
	}
	d.stop()

	l := checkPushed(t, r, "room-3", 3)
	if len(l.Gaps) != 0 {
		t.Errorf("gaps %+v within one push", l.Gaps)
	}
	checkDurations(t, r, l)
	for _, secret := range []string{pushSecret, "Wrong-Pass-99", "recorder:"} {
		if strings.Contains(d.log.String(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

// GStreamer's rtspclientsink pushes too.
func TestRoomPushGStreamer(t *testing.T) {
	for _, tool := range []string{"ffprobe", "ffmpeg", "gst-launch-1.0"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Need(t, tool)
		}
	}
	for _, el := range []string{"rtspclientsink", "x264enc", "mulawenc"} {
		if exec.Command("gst-inspect-1.0", el).Run() != nil {
			testenv.Need(t, "GStreamer element "+el+" (Debian gstreamer1.0-rtsp, -plugins-ugly, -plugins-good)")
		}
	}
	r, listen := newPushRig(t, "room-5")
	d := start(t, r.config, r.addr)
	d.waitLog("rtsp push server listening", 10*time.Second)
	// 15 s of live video and audio, then EOS. The raw format is fixed: a
	// renegotiation restarts x264, whose second IDR with a new SPS in the
	// same millisecond as the first makes the segmenter cut a 0 ms segment
	// and collide with its name (see the branch's report).
	push := func() (string, error) {
		return runFor(t, 45*time.Second, "gst-launch-1.0", "-q", "-e",
			"rtspclientsink", "name=s", "location="+listen, "user-id=recorder", "user-pw="+pushSecret, "protocols=tcp",
			"videotestsrc", "is-live=true", "num-buffers=375", "!", "video/x-raw,format=I420,width=320,height=240,framerate=25/1",
			"!", "x264enc", "tune=zerolatency", "speed-preset=ultrafast", "key-int-max=25", "!", "video/x-h264,profile=baseline",
			"!", "h264parse", "!", "s.",
			"audiotestsrc", "is-live=true", "num-buffers=750", "samplesperbuffer=160", "!", "audio/x-raw,rate=8000,channels=1",
			"!", "mulawenc", "!", "s.")
	}
	left := func(n int) {
		waitFor(t, "the recorder to leave", 15*time.Second, func() bool { return strings.Count(d.log.String(), "room recorder left") >= n })
	}
	pushes := 1
	out, err := push()
	if err != nil && !strings.Contains(out, "Could not write to resource") {
		// Once in CI, on the loaded 2-core machine, rtspclientsink sent
		// all its media (13 s, as in every run) and then hung at its end
		// instead of tearing down, until killed; custodian sealed what
		// came, noticed the silence after 10 s and waited for the
		// recorder. A recorder that comes back is recorded again: that is
		// checked instead.
		t.Logf("gst-launch push stopped (%v); the recorder pushes again\n%s", err, out)
		left(1)
		pushes++
		out, err = push()
	}
	switch {
	case err != nil && strings.Contains(string(out), "Could not write to resource"):
		// rtspclientsink sometimes fails its last write after EOS, once
		// the session is closed: what was recorded is checked below.
		t.Logf("gst-launch push ended with an error at teardown: %v", err)
	case err != nil:
		t.Fatalf("gst-launch push: %v\n%s", err, out)
	}
	left(pushes)
	d.stop()
	l := checkPushed(t, r, "room-5", 2*pushes)
	for _, s := range l.Segments {
		t.Logf("segment %s: %s", s.Name, s.EndedAt.Sub(s.StartedAt))
	}
	if strings.Contains(d.log.String(), pushSecret) {
		t.Error("the log contains the push password")
	}
}
