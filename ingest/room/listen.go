package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"

	"custodian/internal/text"
)

// handoffWait is how long a recorder's RECORD waits for its room to take
// it: the room may be sealing what the last recorder left.
const handoffWait = 2 * time.Second

// Server takes the pushes of the rooms that listen on one address: RTSP
// ANNOUNCE and RECORD on a room's path with that room's credentials, one
// recorder per room at a time. Nothing can be read from it (DESCRIBE and
// PLAY are not implemented): custodian records, it is no media server.
type Server struct {
	addr  string
	rooms map[string]*Room // by path
	log   *slog.Logger
	// ReadTimeout ends a push that sends nothing; 10 s unless set.
	ReadTimeout time.Duration
}

// NewServer builds the server of addr for rooms, which must all listen
// there on distinct paths.
func NewServer(addr string, rooms []*Room, log *slog.Logger) (*Server, error) {
	s := &Server{addr: addr, rooms: map[string]*Room{}, log: log}
	for _, r := range rooms {
		a, path, err := ListenAddr(r.cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("room %s: listen: %w", r.cfg.ID, err)
		}
		if a != addr {
			return nil, fmt.Errorf("room %s listens on %s, not %s", r.cfg.ID, a, addr)
		}
		if o := s.rooms[path]; o != nil {
			return nil, fmt.Errorf("rooms %s and %s both listen on %s", o.cfg.ID, r.cfg.ID, path)
		}
		s.rooms[path] = r
	}
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// Run serves until ctx is done; it returns after every session has ended.
func (s *Server) Run(ctx context.Context) error {
	srv := &gortsplib.Server{Handler: pushHandler{s}, RTSPAddress: s.addr, ReadTimeout: s.ReadTimeout}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("rtsp listen %s: %w", s.addr, err)
	}
	s.log.Info("rtsp push server listening", "addr", s.addr, "rooms", len(s.rooms))
	waitc := make(chan error, 1)
	go func() { waitc <- srv.Wait() }()
	select {
	case <-ctx.Done():
		srv.Close()
		<-waitc
		return nil
	case err := <-waitc:
		return fmt.Errorf("rtsp server %s: %w", s.addr, err)
	}
}

// pushHandler answers the server's requests; its methods are gortsplib's
// callbacks, each on the goroutine of one connection or session.
type pushHandler struct{ s *Server }

var (
	_ gortsplib.ServerHandlerOnAnnounce     = pushHandler{}
	_ gortsplib.ServerHandlerOnSetup        = pushHandler{}
	_ gortsplib.ServerHandlerOnRecord       = pushHandler{}
	_ gortsplib.ServerHandlerOnSessionClose = pushHandler{}
)

// OnAnnounce admits a recorder to a room: the path names the room, the
// credentials are the room's, no other recorder pushes to it, and it
// offers a stream custodian can record.
func (h pushHandler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	remote := ctx.Conn.NetConn().RemoteAddr().String()
	r := h.s.rooms[ctx.Path]
	if r == nil {
		h.s.log.Warn("rtsp push refused: no room listens on this path", keyPath, text.Printable(ctx.Path), keyRemote, remote)
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}
	c := r.cfg.Publisher
	if !c.Set() || !ctx.Conn.VerifyCredentials(ctx.Request, c.User, c.Password) {
		if _, tried := ctx.Request.Header["Authorization"]; tried {
			// A first ANNOUNCE without credentials only asks for the challenge.
			r.refused(remote, ReasonAuth, "a recorder at "+remote+" was refused: wrong credentials")
		}
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	if r.pushing() {
		r.env.Log.Warn("rtsp push refused: another recorder is recording the room", keyRoom, r.cfg.ID, keyRemote, remote)
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil
	}
	tracks, err := pickTracks(ctx.Description)
	if err != nil {
		r.refused(remote, ReasonNoMedia, "a recorder at "+remote+" was refused: "+err.Error())
		return &base.Response{StatusCode: base.StatusUnsupportedMediaType}, nil
	}
	ctx.Session.SetUserData(newPublisher(r, ctx.Session, remote, tracks))
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup accepts the tracks of an announced push only: a SETUP to read
// is refused.
func (h pushHandler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() != gortsplib.ServerSessionStatePreRecord || publisherOf(ctx.Session) == nil {
		return &base.Response{StatusCode: base.StatusMethodNotAllowed}, nil, nil
	}
	if ctx.Transport != gortsplib.TransportTCP {
		return &base.Response{StatusCode: base.StatusUnsupportedTransport}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, nil, nil
}

// OnRecord hands the push to its room, which records it from here on.
func (h pushHandler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	p := publisherOf(ctx.Session)
	if p == nil {
		return &base.Response{StatusCode: base.StatusMethodNotValidInThisState}, nil
	}
	overflowed := p.room.metrics.Overflow.WithLabelValues(p.room.cfg.ID)
	for i, t := range p.tracks {
		ctx.Session.OnPacketRTP(t.media, t.format, p.room.onPacket(ctx.Session, i, t, p.queue, &p.overflow, overflowed))
	}
	if !p.room.take(p) {
		p.room.env.Log.Warn("rtsp push refused: the room did not take it", keyRoom, p.room.cfg.ID, keyRemote, p.remote)
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose tells the room that its recorder is gone.
func (h pushHandler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	if p := publisherOf(ctx.Session); p != nil {
		err := ctx.Error
		if err == nil {
			err = errors.New("session closed")
		}
		p.done <- err // buffered: the one send
	}
}

// OnPacketsLost counts what a push lost.
func (h pushHandler) OnPacketsLost(ctx *gortsplib.ServerHandlerOnPacketsLostCtx) {
	if p := publisherOf(ctx.Session); p != nil {
		p.room.metrics.PacketsLost.WithLabelValues(p.room.cfg.ID).Add(float64(ctx.Lost))
	}
}

// OnDecodeError counts what could not be read of a push.
func (h pushHandler) OnDecodeError(ctx *gortsplib.ServerHandlerOnDecodeErrorCtx) {
	if p := publisherOf(ctx.Session); p != nil {
		p.room.metrics.DecodeErrors.WithLabelValues(p.room.cfg.ID).Inc()
	}
}

func publisherOf(ss *gortsplib.ServerSession) *publisher {
	p, _ := ss.UserData().(*publisher)
	return p
}

// Servers builds one Server per address the rooms that listen listen on,
// in address order; rooms that are pulled need none.
func Servers(rooms []*Room, log *slog.Logger) ([]*Server, error) {
	byAddr := map[string][]*Room{}
	for _, r := range rooms {
		if r.cfg.Listen == "" {
			continue
		}
		addr, _, err := ListenAddr(r.cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("room %s: listen: %w", r.cfg.ID, err)
		}
		byAddr[addr] = append(byAddr[addr], r)
	}
	var out []*Server
	for _, addr := range slices.Sorted(maps.Keys(byAddr)) {
		s, err := NewServer(addr, byAddr[addr], log)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
