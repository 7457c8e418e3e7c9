package room

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"custodian/storage/catalog"
)

const pushSecret = "Push-Secret-42"

// pusher is an interview recorder that pushes (ANNOUNCE, RECORD over TCP)
// the test camera's media with gortsplib's client.
type pusher struct {
	src    *rtspCamera // the media only; it serves nothing
	client *gortsplib.Client
	stop   chan struct{}
	once   sync.Once
}

func startPush(t *testing.T, url string) (*pusher, error) {
	t.Helper()
	return startPushFrom(t, url, &rtspCamera{t: t})
}

func startPushFrom(t *testing.T, url string, src *rtspCamera) (*pusher, error) {
	t.Helper()
	src.video, src.audio = testMedias()
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Transport: &tcp}
	if err := c.StartRecording(url, &description.Session{Medias: []*description.Media{src.video, src.audio}}); err != nil {
		return nil, err
	}
	p := &pusher{src: src, client: c, stop: make(chan struct{})}
	src.wg.Add(1)
	go src.feed(func(m *description.Media, pkt *rtp.Packet) { c.WritePacketRTP(m, pkt) }, p.stop)
	t.Cleanup(p.close)
	return p, nil
}

func (p *pusher) close() {
	p.once.Do(func() {
		close(p.stop)
		p.src.wg.Wait()
		p.client.Close()
	})
}

// pushRig is a room that listens, its server, and the test env.
type pushRig struct {
	*testEnv
	room *Room
	addr string
}

func newPushRig(t *testing.T) *pushRig {
	t.Helper()
	e := newTestEnv(t)
	addr := freeAddr(t)
	cfg := e.roomConfig("room-3", "")
	cfg.Listen = "rtsp://" + addr + "/room-3"
	cfg.Publisher = Credentials{User: "recorder", Password: pushSecret}
	r := New(cfg, e.Env, nil)
	srv, err := NewServer(addr, []*Room{r}, e.Log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server Run: %v", err)
		}
	})
	waitFor(t, "the server to listen", 5*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	runRoom(t, r)
	return &pushRig{testEnv: e, room: r, addr: addr}
}

func (g *pushRig) url(user, pass, path string) string {
	return "rtsp://" + user + ":" + pass + "@" + g.addr + path
}

// A recorder that pushes to its room's path with the room's credentials is
// recorded as a pulled camera is: sealed segments with both tracks, and a
// disconnect gap between two pushes.
func TestPushRecordsSegments(t *testing.T) {
	g := newPushRig(t)
	st := g.room.Status()
	if st.Listen != "rtsp://"+g.addr+"/room-3" || st.URL != "" || st.Connected || st.NotRecordingReason != ReasonWaiting ||
		st.NotRecordingSince.IsZero() {
		t.Fatalf("status before any push %+v, want waiting for recorder", st)
	}
	p, err := startPush(t, g.url("recorder", pushSecret, "/room-3"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two sealed segments", 15*time.Second, func() bool { return len(roomRecordings(t, g.testEnv, "room-3")) >= 2 })
	if st := g.room.Status(); !st.Connected || st.Segment == "" || strings.Join(st.Codecs, ",") != "h264,pcm_mulaw" {
		t.Errorf("status while pushed %+v", st)
	}
	p.close()
	waitFor(t, "the end of the push noticed", 10*time.Second, func() bool { return !g.room.Connected() })
	if st := g.room.Status(); st.NotRecordingReason != ReasonWaiting || st.Reconnects != 1 {
		t.Errorf("status after the push %+v, want waiting for recorder after one session", st)
	}
	before := len(roomRecordings(t, g.testEnv, "room-3"))
	time.Sleep(500 * time.Millisecond)
	if _, err := startPush(t, g.url("recorder", pushSecret, "/room-3")); err != nil {
		t.Fatalf("a second push after the first ended: %v", err)
	}
	waitFor(t, "a segment of the second push", 15*time.Second, func() bool {
		return len(roomRecordings(t, g.testEnv, "room-3")) > before
	})
	recs := roomRecordings(t, g.testEnv, "room-3")
	for i, rec := range recs {
		if rec.State != catalog.StateVerified || strings.Join(rec.Codecs, ",") != "h264,pcm_mulaw" || rec.Kind != "video" {
			t.Errorf("segment %d: %+v", i, rec)
		}
	}
	ffprobeSegment(t, g.Staging.Path(recs[0].SHA256))
	gaps, err := g.Catalog.Gaps("room-3", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 1 || gaps[0].Reason != catalog.GapDisconnect || !gaps[0].End.After(gaps[0].Start) {
		t.Errorf("gaps %+v, want one disconnect between the pushes", gaps)
	}
	if strings.Contains(g.log.String(), pushSecret) {
		t.Error("the log holds the push password")
	}
}

// Only ANNOUNCE and RECORD on the room's path with its credentials are
// taken; nothing is recorded of a refused push, and custodian serves no
// stream to read.
func TestPushRefused(t *testing.T) {
	for _, tc := range []struct {
		name, user, pass, path string
		reason                 string // the room's status after it
	}{
		{"wrong password", "recorder", "Wrong-Pass-99", "/room-3", ReasonAuth},
		{"wrong user", "someone", pushSecret, "/room-3", ReasonAuth},
		{"wrong path", "recorder", pushSecret, "/room-4", ReasonWaiting},
		{"no credentials", "", "", "/room-3", ReasonWaiting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newPushRig(t)
			u := g.url(tc.user, tc.pass, tc.path)
			if tc.user == "" {
				u = "rtsp://" + g.addr + tc.path
			}
			if _, err := startPush(t, u); err == nil {
				t.Fatal("push accepted")
			}
			time.Sleep(time.Second)
			if recs := roomRecordings(t, g.testEnv, "room-3"); len(recs) != 0 {
				t.Errorf("%d segments recorded of a refused push", len(recs))
			}
			st := g.room.Status()
			if st.Connected || st.NotRecordingReason != tc.reason {
				t.Errorf("status %+v, want not recording: %s", st, tc.reason)
			}
			for _, s := range []string{g.log.String(), st.LastError} {
				if strings.Contains(s, "Wrong-Pass-99") || strings.Contains(s, pushSecret) {
					t.Errorf("a password shows: %s", s)
				}
			}
		})
	}
}

// Reading the room's stream (DESCRIBE) is refused, even with the room's
// credentials and while a recorder pushes.
func TestPushServesNoStream(t *testing.T) {
	g := newPushRig(t)
	if _, err := startPush(t, g.url("recorder", pushSecret, "/room-3")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recording", 10*time.Second, g.room.Connected)
	u, err := base.ParseURL(g.url("recorder", pushSecret, "/room-3"))
	if err != nil {
		t.Fatal(err)
	}
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, res, err := c.Describe(u); err == nil {
		t.Fatalf("DESCRIBE answered %v", res)
	} else if !strings.Contains(err.Error(), "501") {
		t.Errorf("DESCRIBE: %v, want 501 Not Implemented", err)
	}
}

// While one recorder pushes to the room, a second is refused and the
// first goes on being recorded.
func TestPushSecondRecorderRefused(t *testing.T) {
	g := newPushRig(t)
	if _, err := startPush(t, g.url("recorder", pushSecret, "/room-3")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recording", 10*time.Second, g.room.Connected)
	if _, err := startPush(t, g.url("recorder", pushSecret, "/room-3")); err == nil {
		t.Fatal("a second recorder was taken")
	} else if !strings.Contains(err.Error(), "503") {
		t.Errorf("second push: %v, want 503", err)
	}
	before := len(roomRecordings(t, g.testEnv, "room-3"))
	waitFor(t, "the first push recorded on", 10*time.Second, func() bool {
		return len(roomRecordings(t, g.testEnv, "room-3")) > before
	})
	if st := g.room.Status(); !st.Connected || st.Reconnects != 0 {
		t.Errorf("status %+v, want the first push recording still", st)
	}
}

// ffmpeg keeps H.264's SPS and PPS in the SDP only: its keyframes are
// recorded all the same.
func TestPushParamsInSDPOnly(t *testing.T) {
	g := newPushRig(t)
	if _, err := startPushFrom(t, g.url("recorder", pushSecret, "/room-3"), &rtspCamera{t: t, sdpParams: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a sealed segment", 10*time.Second, func() bool { return len(roomRecordings(t, g.testEnv, "room-3")) >= 1 })
	recs := roomRecordings(t, g.testEnv, "room-3")
	ffprobeSegment(t, g.Staging.Path(recs[0].SHA256))
}

func TestParamSetsFill(t *testing.T) {
	sps, pps, idr, p := []byte{0x67, 1}, []byte{0x68, 2}, []byte{0x65, 3}, []byte{0x41, 4}
	ps := newParamSets(false, sps, pps)
	show := func(au [][]byte) string { return fmt.Sprintf("%x", au) }
	for _, tc := range []struct{ in, want [][]byte }{
		{[][]byte{idr}, [][]byte{sps, pps, idr}},
		{[][]byte{p}, [][]byte{p}},
		{[][]byte{sps, pps, idr}, [][]byte{sps, pps, idr}},
		{[][]byte{{0x67, 9}, idr}, [][]byte{pps, {0x67, 9}, idr}}, // a new SPS in band
		{[][]byte{idr}, [][]byte{{0x67, 9}, pps, idr}},            // ... is used from then on
	} {
		if got := show(ps.fill(tc.in)); got != show(tc.want) {
			t.Errorf("fill(%s) = %s, want %s", show(tc.in), got, show(tc.want))
		}
	}
	vps, hsps, hpps, irap := []byte{32 << 1, 1}, []byte{33 << 1, 2}, []byte{34 << 1, 3}, []byte{19 << 1, 4}
	h := newParamSets(true, vps, hsps, hpps)
	if got, want := show(h.fill([][]byte{irap})), show([][]byte{vps, hsps, hpps, irap}); got != want {
		t.Errorf("h265 fill = %s, want %s", got, want)
	}
	if got := show(newParamSets(false, nil, nil).fill([][]byte{idr})); got != show([][]byte{idr}) {
		t.Errorf("fill without parameter sets = %s", got)
	}
}

// Video comes first in every segment, whatever order the SDP has.
func TestPickTracksVideoFirst(t *testing.T) {
	audioFirst := "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n" +
		"m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=0\r\n" +
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:trackID=1\r\n"
	desc, err := parseSDP([]byte(audioFirst))
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := pickTracks(desc)
	if err != nil {
		t.Fatal(err)
	}
	if len(tracks) != 2 || tracks[0].track.Codec() != "h264" || tracks[1].track.Codec() != "pcm_mulaw" {
		t.Fatalf("tracks %v, want h264 then pcm_mulaw", tracks)
	}
}

// A recorder that offers nothing custodian can record is refused, and the
// room says why.
func TestPushRefusesUnrecordableMedia(t *testing.T) {
	g := newPushRig(t)
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Transport: &tcp}
	mjpeg := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.MJPEG{}}}
	err := c.StartRecording(g.url("recorder", pushSecret, "/room-3"), &description.Session{Medias: []*description.Media{mjpeg}})
	if err == nil {
		c.Close()
		t.Fatal("an MJPEG push was taken")
	}
	if st := g.room.Status(); st.NotRecordingReason != ReasonNoMedia || !strings.Contains(st.LastError, ErrNoMedia.Error()) {
		t.Errorf("status %+v, want no media", st)
	}
}

// The rooms that listen share one server per address; two rooms on one
// path cannot.
func TestServers(t *testing.T) {
	e := newTestEnv(t)
	mk := func(id, listen string) *Room {
		cfg := e.roomConfig(id, "")
		cfg.Listen = listen
		if listen == "" {
			cfg.URL = "rtsp://cam/x"
		}
		return New(cfg, e.Env, nil)
	}
	a, b, c, pulled := mk("a", "rtsp://0.0.0.0:8554/a"), mk("b", "rtsp://0.0.0.0:8554/b"), mk("c", "rtsp://127.0.0.1:9554/c"), mk("p", "")
	srvs, err := Servers([]*Room{a, pulled, c, b}, e.Log)
	if err != nil {
		t.Fatal(err)
	}
	if len(srvs) != 2 || srvs[0].Addr() != "0.0.0.0:8554" || len(srvs[0].rooms) != 2 || srvs[1].Addr() != "127.0.0.1:9554" {
		t.Fatalf("servers %+v", srvs)
	}
	if _, err := Servers([]*Room{a, mk("a2", "rtsp://0.0.0.0:8554/a")}, e.Log); err == nil || !strings.Contains(err.Error(), "both listen on /a") {
		t.Errorf("two rooms on one path: %v", err)
	}
}
