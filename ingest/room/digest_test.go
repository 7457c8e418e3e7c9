package room

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
)

// The examples of RFC 2617 (MD5) and RFC 7616 (SHA-256), qop=auth.
func TestDigestAuthorizationRFC(t *testing.T) {
	md5c, ok := parseChallenge(`Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	if !ok {
		t.Fatal("RFC 2617 challenge refused")
	}
	got := md5c.authorization("Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b")
	if !strings.Contains(got, `response="6629fae49393a05397450978507c4ef1"`) || !strings.Contains(got, `opaque="5ccc069c403ebaf9f0171e9517f40e41"`) {
		t.Errorf("MD5: %s", got)
	}
	shac, ok := parseChallenge(`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`)
	if !ok || !shac.sha256 {
		t.Fatal("RFC 7616 challenge refused")
	}
	got = shac.authorization("Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
	if !strings.Contains(got, `response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"`) {
		t.Errorf("SHA-256: %s", got)
	}
	for _, bad := range []string{`Basic realm="x"`, `Digest realm="r"`, `Digest realm="r", nonce="n", algorithm=SHA-512-256, qop="auth"`,
		`Digest realm="r", nonce="n\"", qop="auth"`, `Digest realm="r", nonce="a` + "\n" + `b", qop="auth"`, `Digest realm="r`} {
		if c, ok := parseChallenge(bad); ok {
			t.Errorf("accepted %q: %+v", bad, c)
		}
	}
	if _, ok := parseChallenge(`Digest realm="r", nonce="n"`); ok {
		t.Error("a challenge without qop is the client's to answer")
	}
}

// qopCamera demands digest authentication with qop=auth, as some cameras
// do, and checks each answer with the RFC's formula.
type qopCamera struct {
	user, pass string
	sha        bool
	stream     *gortsplib.ServerStream
	mu         sync.Mutex
	accepted   int
}

func (c *qopCamera) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if !c.valid(ctx.Request) {
		algo := "MD5"
		if c.sha {
			algo = "SHA-256"
		}
		return &base.Response{StatusCode: base.StatusUnauthorized, Header: base.Header{"WWW-Authenticate": base.HeaderValue{
			`Digest realm="cam", nonce="4f1c2e", qop="auth", algorithm=` + algo}}}, nil, nil
	}
	c.mu.Lock()
	c.accepted++
	c.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

func (c *qopCamera) valid(req *base.Request) bool {
	v := req.Header["Authorization"]
	if len(v) != 1 {
		return false
	}
	p, ok := authParams(strings.TrimPrefix(v[0], "Digest "))
	if !ok || p["qop"] != "auth" || p["nc"] == "" || p["cnonce"] == "" || p["username"] != c.user {
		return false
	}
	h := md5.New
	if c.sha {
		h = sha256.New
	}
	sum := func(s string) string { d := h(); d.Write([]byte(s)); return hex.EncodeToString(d.Sum(nil)) }
	want := sum(sum(c.user+":cam:"+c.pass) + ":4f1c2e:" + p["nc"] + ":" + p["cnonce"] + ":auth:" + sum(string(req.Method)+":"+p["uri"]))
	return p["response"] == want
}

func TestDigestQopAgainstCamera(t *testing.T) {
	for _, sha := range []bool{false, true} {
		cam := &qopCamera{user: "admin", pass: "s3cret pass", sha: sha}
		addr := freeAddr(t)
		srv := &gortsplib.Server{Handler: cam, RTSPAddress: addr}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cam.stream = &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: []*description.Media{{
			Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}}}}}}
		if err := cam.stream.Initialize(); err != nil {
			t.Fatal(err)
		}
		defer cam.stream.Close()

		u, err := base.ParseURL("rtsp://admin:s3cret%20pass@" + addr + "/live")
		if err != nil {
			t.Fatal(err)
		}
		describe := func(a *digestAuth) error {
			c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
			if a != nil {
				c.OnRequest, c.OnResponse = a.onRequest, a.onResponse
			}
			if err := c.Start2(); err != nil {
				return err
			}
			defer c.Close()
			_, _, err := c.Describe(u)
			return err
		}
		if err := describe(nil); err == nil {
			t.Fatal("the camera accepted gortsplib's answer without qop; the test proves nothing")
		}
		if err := describe(newDigestAuth("admin", "s3cret pass")); err != nil {
			t.Fatalf("sha256 %v: %v", sha, err)
		}
		if cam.accepted != 1 {
			t.Fatalf("accepted %d", cam.accepted)
		}
	}
}

// FuzzDigestChallenge: a camera's WWW-Authenticate is outside input; what
// is accepted never carries a quote or control character into a request.
func FuzzDigestChallenge(f *testing.F) {
	for _, s := range []string{
		`Digest realm="cam", nonce="4f1c2e", qop="auth", algorithm=SHA-256`,
		`Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
		`Basic realm="x"`, `Digest realm=r, nonce=n, qop=auth`, `Digest ,,,`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, ok := parseChallenge(v)
		if !ok {
			return
		}
		h := c.authorization("u", "p", "DESCRIBE", "rtsp://h/x", 1, "c")
		if strings.ContainsAny(h, "\r\n") || strings.Count(h, `"`)%2 != 0 {
			t.Fatalf("%q -> %q", v, h)
		}
	})
}

// A room whose camera demands qop=auth records (gortsplib's client alone
// gets 401 forever).
func TestRoomRecordsFromQopCamera(t *testing.T) {
	cam := &rtspCamera{t: t, addr: freeAddr(t), user: "officer", pass: "s3cret-pw", qop: true}
	cam.start()
	t.Cleanup(cam.close)
	e := newTestEnv(t)
	r := New(e.roomConfig("interview-q", cam.url()), e.Env, nil)
	stop := runRoom(t, r)
	defer stop()
	waitFor(t, "connected to a camera that demands qop", 10*time.Second, r.Connected)
	if strings.Contains(e.log.String(), "s3cret-pw") {
		t.Error("password logged")
	}
}
