package room

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/ingest"
	"custodian/ingest/fmp4/fmp4test"
	"custodian/internal/digest"
	"custodian/internal/testlog"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"
)

// testEnv is a catalog and staging in a temp dir, with a log kept for checks.
type testEnv struct {
	ingest.Env
	dir string
	log *testlog.Buffer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	cat := catalogtest.Open(t, catalog.Options{})
	st, err := staging.Open(filepath.Join(dir, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	buf := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(buf, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &testEnv{
		Env: ingest.Env{Station: "st-1", Location: time.UTC, Catalog: cat, Staging: st, Log: log, Metrics: ingest.NewMetrics(nil)},
		dir: dir, log: buf,
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (e *testEnv) roomConfig(id, url string) Config {
	return Config{
		ID: id, URL: url, Segment: 1500 * time.Millisecond, Fragment: 500 * time.Millisecond,
		Dir: filepath.Join(e.dir, "rooms", id), StallTimeout: 2 * time.Second,
		BackoffMin: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond,
	}
}

// runRoom runs room until stop is called; stop waits for Run to return.
func runRoom(t *testing.T, r *Room) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func roomRecordings(t *testing.T, e *testEnv, room string) []catalog.Recording {
	t.Helper()
	recs, err := e.Catalog.List(catalog.Filter{Source: catalog.SourceRoom, SourceID: room})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestRoomRecordsSegmentsBitExact(t *testing.T) {
	cam := newCamera(t, "", "")
	e := newTestEnv(t)
	r := New(e.roomConfig("interview-1", cam.url()), e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "two sealed segments", 15*time.Second, func() bool { return len(roomRecordings(t, e, "interview-1")) >= 2 })
	stop()

	recs := roomRecordings(t, e, "interview-1")
	if len(recs) < 3 {
		t.Fatalf("got %d segments, want at least 3 (two cut, one closed at stop)", len(recs))
	}
	var audio []byte
	for i, rec := range recs {
		if rec.State != catalog.StateVerified || rec.Source != catalog.SourceRoom || rec.Ext != "mp4" || rec.Kind != "video" {
			t.Errorf("segment %d: %+v", i, rec)
		}
		if got, want := strings.Join(rec.Codecs, ","), "h264,pcm_mulaw"; got != want {
			t.Errorf("segment %d codecs %q, want %q", i, got, want)
		}
		if rec.HasFlag(catalog.FlagRecovered) {
			t.Errorf("segment %d flagged recovered", i)
		}
		path := e.Staging.Path(rec.SHA256)
		sha, n, err := digest.SumFile(path)
		if err != nil || sha != rec.SHA256 || n != rec.Size {
			t.Errorf("segment %d: staged blob hash %s size %d err %v, catalog says %s %d", i, sha, n, err, rec.SHA256, rec.Size)
		}
		a, frames := fmp4test.Media(t, path)
		if frames == 0 {
			t.Errorf("segment %d has no video", i)
		}
		audio = append(audio, a...)
		if i > 0 && !rec.StartedAt.Equal(recs[i-1].EndedAt) {
			t.Errorf("segment %d starts %s, previous ended %s: a cut must not lose time", i, rec.StartedAt, recs[i-1].EndedAt)
		}
		if d := rec.EndedAt.Sub(rec.StartedAt); i < len(recs)-1 && (d < 1400*time.Millisecond || d > 2600*time.Millisecond) {
			t.Errorf("segment %d lasts %s, want about 1.5-2 s (cut at the next keyframe)", i, d)
		}
	}
	// The audio is one contiguous run of what the camera sent, byte for byte.
	if len(audio) < 8000 {
		t.Fatalf("only %d audio bytes recorded", len(audio))
	}
	first := -1
	for off := 0; off < cam.audioSent() && first < 0; off++ {
		first = off
		for i, b := range audio {
			if b != fmp4test.AudioByte(off+i) {
				first = -1
				break
			}
		}
	}
	if first < 0 {
		t.Fatal("recorded audio is not a contiguous run of the camera's bytes")
	}
	if ents, _ := os.ReadDir(filepath.Join(e.dir, "rooms", "interview-1", "open")); len(ents) != 0 {
		t.Errorf("open directory not empty after stop: %v", ents)
	}
	ffprobeSegment(t, e.Staging.Path(recs[0].SHA256))
}

// ffprobeSegment checks, when ffprobe is installed, that a segment has an
// H.264 and a mu-law track.
func ffprobeSegment(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Log("ffprobe not installed; container check skipped (the e2e test requires it)")
		return
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Streams {
		names = append(names, s.CodecName)
	}
	if got := strings.Join(names, ","); got != "h264,pcm_mulaw" {
		t.Errorf("ffprobe streams %q, want h264,pcm_mulaw", got)
	}
}

func TestRoomReconnectsAndRecordsGap(t *testing.T) {
	cam := newCamera(t, "", "")
	e := newTestEnv(t)
	r := New(e.roomConfig("interview-2", cam.url()), e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "connected", 10*time.Second, r.Connected)
	time.Sleep(time.Second)
	cam.close()
	waitFor(t, "disconnect noticed", 10*time.Second, func() bool { return !r.Connected() })
	cam.start()
	waitFor(t, "reconnected", 10*time.Second, r.Connected)
	waitFor(t, "gap recorded", 10*time.Second, func() bool {
		gaps, _ := e.Catalog.Gaps("interview-2", time.Time{}, time.Time{})
		return len(gaps) > 0
	})
	stop()
	gaps, err := e.Catalog.Gaps("interview-2", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 1 || gaps[0].Reason != catalog.GapDisconnect || gaps[0].Duration() <= 0 {
		t.Fatalf("gaps %+v, want one disconnect", gaps)
	}
	recs := roomRecordings(t, e, "interview-2")
	var before, after bool
	for _, rec := range recs {
		before = before || !rec.EndedAt.After(gaps[0].Start)
		after = after || !rec.StartedAt.Before(gaps[0].End)
	}
	if !before || !after {
		t.Errorf("want segments before and after the gap; got %d segments", len(recs))
	}
	if st := r.Status(); st.Reconnects < 1 {
		t.Errorf("status %+v: want a reconnect counted", st)
	}
}

func TestRoomNeverLogsCredentials(t *testing.T) {
	cam := newCamera(t, "officer", "s3cret-pw")
	e := newTestEnv(t)
	bad := strings.Replace(cam.url(), "s3cret-pw", "wrong-pw", 1)
	r := New(e.roomConfig("interview-3", bad), e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "a failed attempt", 10*time.Second, func() bool { return r.Status().Reconnects >= 2 })
	stop()
	st := r.Status()
	if st.Connected || st.LastError == "" {
		t.Errorf("status %+v: want disconnected with an error", st)
	}
	js, _ := json.Marshal(st)
	for _, secret := range []string{"wrong-pw", "officer:"} {
		if strings.Contains(e.log.String(), secret) || strings.Contains(string(js), secret) {
			t.Errorf("%q appears in the log or status:\n%s\n%s", secret, e.log.String(), js)
		}
	}

	// The right password records.
	r2 := New(e.roomConfig("interview-4", cam.url()), e.Env, nil)
	stop2 := runRoom(t, r2)
	waitFor(t, "connected with credentials", 10*time.Second, r2.Connected)
	stop2()
	if strings.Contains(e.log.String(), "s3cret-pw") {
		t.Error("password logged")
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, url, want string }{
		{"dial rtsp://u:p%40ss@cam/x failed", "rtsp://u:p%40ss@cam/x", "dial rtsp://REDACTED@cam/x failed"},
		{"auth for pw p@ss refused", "rtsp://u:p%40ss@cam/x", "auth for pw REDACTED refused"},
		{"nothing secret", "rtsp://cam/x", "nothing secret"},
	} {
		if got := Redact(tc.in, tc.url); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Redacted("rtsps://admin:pw@10.0.0.5:322/live?x=1"); got != "rtsps://10.0.0.5:322/live?x=1" {
		t.Errorf("Redacted = %q", got)
	}
}

func TestRoomSurvivesGarbageRTP(t *testing.T) {
	cam := &rtspCamera{t: t, addr: freeAddr(t), garbage: true}
	cam.start()
	t.Cleanup(cam.close)
	e := newTestEnv(t)
	m := NewMetrics(nil)
	r := New(e.roomConfig("interview-5", cam.url()), e.Env, m)
	stop := runRoom(t, r)
	waitFor(t, "connected", 10*time.Second, r.Connected)
	time.Sleep(2 * time.Second)
	if !r.Connected() {
		t.Error("garbage video dropped the connection")
	}
	stop()
	if n := testutil.ToFloat64(m.DecodeErrors.WithLabelValues("interview-5")); n == 0 {
		t.Error("no decode errors counted for random video payloads")
	}
}

// TestRoomSurvivesTruncatedSDP serves a DESCRIBE answer cut in half.
func TestRoomSurvivesTruncatedSDP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go fakeDescribe(conn, cameraSDP[:len(cameraSDP)/3])
		}
	}()
	e := newTestEnv(t)
	r := New(e.roomConfig("interview-6", "rtsp://"+ln.Addr().String()+"/stream"), e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "retries", 10*time.Second, func() bool { return r.Status().Reconnects >= 2 })
	stop()
	if st := r.Status(); st.Connected || st.LastError == "" {
		t.Errorf("status %+v", st)
	}
}

// fakeDescribe answers OPTIONS and DESCRIBE like a broken camera.
func fakeDescribe(conn net.Conn, sdp string) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for {
		var cseq, method string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if method == "" {
				method, _, _ = strings.Cut(line, " ")
			}
			if v, ok := strings.CutPrefix(line, "CSeq: "); ok {
				cseq = v
			}
		}
		switch method {
		case "OPTIONS":
			fmt.Fprintf(conn, "RTSP/1.0 200 OK\r\nCSeq: %s\r\nPublic: DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n", cseq)
		case "DESCRIBE":
			fmt.Fprintf(conn, "RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", cseq, len(sdp), sdp)
		default:
			fmt.Fprintf(conn, "RTSP/1.0 400 Bad Request\r\nCSeq: %s\r\n\r\n", cseq)
		}
	}
}

func TestRoomRecordsOverUDP(t *testing.T) {
	cam := &rtspCamera{t: t, addr: freeAddr(t), udp: true}
	cam.start()
	t.Cleanup(cam.close)
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-7", cam.url())
	cfg.Transport = TransportUDP
	r := New(cfg, e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "a sealed segment", 15*time.Second, func() bool { return len(roomRecordings(t, e, "interview-7")) >= 1 })
	stop()
	if !strings.Contains(e.log.String(), "transport=udp") {
		t.Error("room did not use UDP")
	}
}

// After a restart the hole since the room's last catalogued segment is a
// restart gap, from that segment's end; another room's segments do not count.
func TestRoomRecordsRestartGap(t *testing.T) {
	cam := newCamera(t, "", "")
	e := newTestEnv(t)
	lastEnd := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Second)
	for i, seg := range []struct {
		room string
		end  time.Time
	}{{"interview-3", lastEnd.Add(-10 * time.Minute)}, {"interview-3", lastEnd}, {"interview-30", lastEnd.Add(4 * time.Minute)}} {
		_, _, err := e.Catalog.Add(catalog.Recording{Station: "st-1", Source: catalog.SourceRoom, SourceID: seg.room,
			Name: fmt.Sprintf("old-%d.mp4", i), SHA256: catalogtest.SHA(byte('a' + i)), Size: 1,
			StartedAt: seg.end.Add(-time.Minute), EndedAt: seg.end, State: catalog.StateArchived})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := New(e.roomConfig("interview-3", cam.url()), e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "gap recorded", 15*time.Second, func() bool {
		gaps, _ := e.Catalog.Gaps("interview-3", time.Time{}, time.Time{})
		return len(gaps) > 0
	})
	stop()
	gaps, _ := e.Catalog.Gaps("interview-3", time.Time{}, time.Time{})
	if len(gaps) != 1 || gaps[0].Reason != catalog.GapRestart || !gaps[0].Start.Equal(lastEnd) {
		t.Fatalf("gaps %+v, want one restart gap from %v", gaps, lastEnd)
	}
}
