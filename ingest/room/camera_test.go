package room

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"custodian/ingest/fmp4/fmp4test"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"
)

// rtspCamera is an in-repo RTSP camera: a gortsplib server that serves H.264
// video at 25 fps (a keyframe each second) and G.711 mu-law audio in 20 ms
// packets whose bytes follow fmp4test.AudioByte, so a test can check them bit for bit.
type rtspCamera struct {
	t          *testing.T
	addr       string
	user, pass string

	mu     sync.Mutex
	server *gortsplib.Server
	stream *gortsplib.ServerStream
	video  *description.Media
	audio  *description.Media
	stop   chan struct{}
	wg     sync.WaitGroup
	sent   int // audio bytes sent
	// garbage, when set, replaces every video payload with random bytes.
	garbage bool
	// sdpParams, when set, keeps SPS and PPS out of the stream: only the
	// SDP has them, as with ffmpeg.
	sdpParams bool
	// udp, when set, also serves RTP over UDP.
	udp bool
	// qop, when set, demands digest authentication with qop=auth (MD5),
	// which gortsplib's own client does not answer.
	qop bool
}

func newCamera(t *testing.T, user, pass string) *rtspCamera {
	t.Helper()
	c := &rtspCamera{t: t, addr: freeAddr(t), user: user, pass: pass}
	c.start()
	t.Cleanup(c.close)
	return c
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freeUDPPair returns an even UDP port whose successor is free too, as RTP
// and RTCP need.
func freeUDPPair(t *testing.T) int {
	t.Helper()
	for range 50 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		a.Close()
		if p%2 == 1 || p > 65000 {
			continue
		}
		b, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("no free UDP port pair")
	return 0
}

func (c *rtspCamera) url() string {
	if c.user != "" {
		return "rtsp://" + c.user + ":" + c.pass + "@" + c.addr + "/stream"
	}
	return "rtsp://" + c.addr + "/stream"
}

func (c *rtspCamera) start() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.server = &gortsplib.Server{Handler: c, RTSPAddress: c.addr}
	if c.udp {
		p := freeUDPPair(c.t)
		c.server.UDPRTPAddress = "127.0.0.1:" + strconv.Itoa(p)
		c.server.UDPRTCPAddress = "127.0.0.1:" + strconv.Itoa(p+1)
	}
	if err := c.server.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.video, c.audio = testMedias()
	c.stream = &gortsplib.ServerStream{Server: c.server, Desc: &description.Session{Medias: []*description.Media{c.video, c.audio}}}
	if err := c.stream.Initialize(); err != nil {
		c.t.Fatal(err)
	}
	c.stop = make(chan struct{})
	c.wg.Add(1)
	stream := c.stream
	go c.feed(func(m *description.Media, p *rtp.Packet) { stream.WritePacketRTP(m, p) }, c.stop)
}

// testMedias are the camera's video and audio: H.264 and G.711 mu-law.
func testMedias() (video, audio *description.Media) {
	video = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{
		PayloadTyp: 96, SPS: fmp4test.SPS, PPS: fmp4test.PPS, PacketizationMode: 1}}}
	audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{
		PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}}}
	return video, audio
}

// close stops the camera; start brings it back on the same address.
func (c *rtspCamera) close() {
	c.mu.Lock()
	if c.server == nil {
		c.mu.Unlock()
		return
	}
	close(c.stop)
	server, stream := c.server, c.stream
	c.server = nil
	c.mu.Unlock()
	c.wg.Wait()
	stream.Close()
	server.Close()
}

// feed sends the camera's media through write until stop is closed.
func (c *rtspCamera) feed(write func(*description.Media, *rtp.Packet), stop chan struct{}) {
	defer c.wg.Done()
	venc, err := c.video.Formats[0].(*format.H264).CreateEncoder()
	if err != nil {
		c.t.Error(err)
		return
	}
	aenc, err := c.audio.Formats[0].(*format.G711).CreateEncoder()
	if err != nil {
		c.t.Error(err)
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	frame := 0
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		elapsed := time.Since(start)
		// Audio: one 20 ms packet per tick.
		c.mu.Lock()
		pcm := make([]byte, 160)
		for i := range pcm {
			pcm[i] = fmp4test.AudioByte(c.sent + i)
		}
		c.sent += len(pcm)
		c.mu.Unlock()
		pkts, err := aenc.Encode(pcm)
		if err != nil {
			c.t.Error(err)
			return
		}
		for _, p := range pkts {
			p.Timestamp += uint32(n * 160)
			write(c.audio, p)
		}
		// Video: 25 fps, from the elapsed time.
		for ; time.Duration(frame)*40*time.Millisecond <= elapsed; frame++ {
			// Frames larger than a packet, as real ones are: the access
			// unit ends with an FU-A fragment, not with the IDR's start.
			au := [][]byte{append([]byte{0x41, 0x9a, byte(frame)}, make([]byte, 1500)...)}
			if frame%25 == 0 {
				au = [][]byte{fmp4test.SPS, fmp4test.PPS, append([]byte{0x65, 0x88, 0x84, byte(frame)}, make([]byte, 3000)...)}
				if c.sdpParams {
					au = au[2:]
				}
			}
			pkts, err := venc.Encode(au)
			if err != nil {
				c.t.Error(err)
				return
			}
			for _, p := range pkts {
				p.Timestamp += uint32(frame * 3600)
				if c.garbage {
					p.Payload = make([]byte, 1+rand.IntN(1200))
					for i := range p.Payload {
						p.Payload[i] = byte(rand.Uint32())
					}
				}
				write(c.video, p)
			}
		}
	}
}

func (c *rtspCamera) audioSent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

func (c *rtspCamera) check(ctx interface {
	VerifyCredentials(*base.Request, string, string) bool
}, req *base.Request) bool {
	if c.qop {
		return (&qopCamera{user: c.user, pass: c.pass}).valid(req)
	}
	return c.user == "" || ctx.VerifyCredentials(req, c.user, c.pass)
}

// authErr is what a refusal returns beside its response: gortsplib's own
// challenge replaces a qop camera's when it is liberrors.ErrServerAuth.
func (c *rtspCamera) authErr() error {
	if c.qop {
		return nil
	}
	return liberrors.ErrServerAuth{}
}

// unauthorized is the 401 the camera answers, with its challenge.
func (c *rtspCamera) unauthorized() *base.Response {
	res := &base.Response{StatusCode: base.StatusUnauthorized}
	if c.qop {
		res.Header = base.Header{"WWW-Authenticate": base.HeaderValue{`Digest realm="cam", nonce="4f1c2e", qop="auth"`}}
	}
	return res
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (c *rtspCamera) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if !c.check(ctx.Conn, ctx.Request) {
		return c.unauthorized(), nil, c.authErr()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (c *rtspCamera) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if !c.check(ctx.Conn, ctx.Request) {
		return c.unauthorized(), nil, c.authErr()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (c *rtspCamera) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}
