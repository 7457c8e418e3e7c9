package room

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"

	"custodian/ingest/fmp4"
	"custodian/storage/catalog"
)

// errStall and errClockStep end a connection from inside the writer loop.
var (
	errStall     = errors.New("no media received")
	errClockStep = errors.New("station clock stepped")
)

// connect records one RTSP session until it fails or ctx is done.
func (r *Room) connect(ctx context.Context, jobs chan<- sealJob) error {
	u, err := base.ParseURL(r.cfg.URL)
	if err != nil {
		return fmt.Errorf("parse url: %w", err)
	}
	c := r.client(u)
	if err := c.Start2(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	waitc := make(chan error, 1)
	go func() { waitc <- c.Wait() }()
	waited := false
	defer func() {
		c.Close()
		if !waited {
			<-waitc
		}
	}()
	stop := context.AfterFunc(ctx, c.Close) // Describe and Setup block on the network
	defer stop()

	tracks, err := setup(c, u)
	if err != nil {
		return err
	}
	queue := make(chan fmp4.Unit, r.cfg.QueueSize)
	var overflow atomic.Uint64
	overflowed := r.metrics.Overflow.WithLabelValues(r.cfg.ID)
	for i, t := range tracks {
		c.OnPacketRTP(t.media, t.format, r.onPacket(c, i, t, queue, &overflow, overflowed))
	}
	if _, err := c.Play(nil); err != nil {
		return fmt.Errorf("play: %w", err)
	}
	return r.capture(ctx, tracks, queue, &overflow, waitc, &waited, jobs,
		keyURL, Redacted(r.cfg.URL), keyTransport, r.cfg.Transport)
}

// capture records one live session, pulled from a camera or pushed by a
// recorder, whose units arrive on queue, until it ends (waitc), fails or
// ctx is done; where says in the log where it comes from.
func (r *Room) capture(ctx context.Context, tracks []*rtpTrack, queue <-chan fmp4.Unit, overflow *atomic.Uint64,
	waitc <-chan error, waited *bool, jobs chan<- sealJob, where ...any) error {
	plain := r.connected(tracks, where)
	defer r.disconnected()

	seg := fmp4.NewSegmenter(r.openDir, r.cfg.ID, r.cfg.Segment, r.cfg.Fragment, plain)
	err := r.record(ctx, seg, queue, overflow, waitc, waited, jobs)
	r.closeSegment(seg, gapReason(err), jobs)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// client is an RTSP client for the room's camera that counts lost packets
// and decode errors, and answers digest challenges that ask for qop.
func (r *Room) client(u *base.URL) *gortsplib.Client {
	transport := gortsplib.TransportTCP
	if r.cfg.Transport == TransportUDP {
		transport = gortsplib.TransportUDP
	}
	id := r.cfg.ID
	c := &gortsplib.Client{
		Scheme:        u.Scheme,
		Host:          u.Host,
		Transport:     &transport,
		ReadTimeout:   r.cfg.StallTimeout,
		OnPacketsLost: func(n uint64) { r.metrics.PacketsLost.WithLabelValues(id).Add(float64(n)) },
		OnDecodeError: func(error) { r.metrics.DecodeErrors.WithLabelValues(id).Inc() },
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		auth := newDigestAuth(u.User.Username(), pass)
		c.OnRequest, c.OnResponse = auth.onRequest, auth.onResponse
	}
	return c
}

// setup asks the camera what it offers and sets up the tracks to record.
func setup(c *gortsplib.Client, u *base.URL) ([]*rtpTrack, error) {
	desc, _, err := c.Describe(u)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	tracks, err := pickTracks(desc)
	if err != nil {
		return nil, err
	}
	for _, t := range tracks {
		if _, err := c.Setup(desc.BaseURL, t.media, 0, 0); err != nil {
			return nil, fmt.Errorf("setup %s: %w", t.track.Codec(), err)
		}
	}
	return tracks, nil
}

// connected shows the room as recording and returns the tracks to write.
func (r *Room) connected(tracks []*rtpTrack, where []any) []fmp4.Track {
	var codecs []string
	var plain []fmp4.Track
	for _, t := range tracks {
		codecs = append(codecs, t.track.Codec())
		plain = append(plain, t.track)
	}
	r.metrics.Connected.WithLabelValues(r.cfg.ID).Set(1)
	r.setStatus(func(s *Status) { s.Connected, s.Since, s.Codecs, s.LastError = true, r.env.Now(), codecs, "" })
	args := append([]any{keyRoom, r.cfg.ID}, where...)
	r.env.Log.Info("room connected", append(args, keyCodecs, strings.Join(codecs, ","))...)
	return plain
}

func (r *Room) disconnected() {
	r.metrics.Connected.WithLabelValues(r.cfg.ID).Set(0)
	r.setStatus(func(s *Status) { s.Connected, s.Segment = false, "" })
}

// gapReason is the gap a session that ended with err leaves.
func gapReason(err error) string {
	switch {
	case errors.Is(err, errStall):
		return catalog.GapStall
	case errors.Is(err, errClockStep):
		return catalog.GapClockStep
	case isWriteError(err):
		return catalog.GapWriteError
	}
	return catalog.GapDisconnect
}

// packetClock reads a packet's timestamps: a gortsplib Client or
// ServerSession.
type packetClock interface {
	PacketPTS2(*description.Media, *rtp.Packet) (int64, bool)
	PacketNTP(*description.Media, *rtp.Packet) (time.Time, bool)
}

var (
	_ packetClock = (*gortsplib.Client)(nil)
	_ packetClock = (*gortsplib.ServerSession)(nil)
)

// onPacket is the RTP callback of one track: depacketise and hand over,
// never block. A full queue drops the unit and counts it; the writer turns
// the count into a gap.
func (r *Room) onPacket(c packetClock, i int, t *rtpTrack, queue chan<- fmp4.Unit, overflow *atomic.Uint64, overflowed prometheus.Counter) func(*rtp.Packet) {
	return func(pkt *rtp.Packet) {
		// The timestamp decoder must see every packet: it starts a track
		// only on a packet that can begin decoding (an IDR, SPS or PPS), and
		// the packet that completes an access unit is rarely one.
		pts, ptsOK := c.PacketPTS2(t.media, pkt)
		au, pcm, err := t.decode(pkt)
		if err != nil {
			r.metrics.DecodeErrors.WithLabelValues(r.cfg.ID).Inc()
			return
		}
		if (au == nil && pcm == nil) || !ptsOK {
			return
		}
		u := fmp4.Unit{Track: i, PTS: pts, At: r.env.Now(), PCM: pcm}
		if ntp, ok := c.PacketNTP(t.media, pkt); ok {
			u.NTP = ntp
		}
		// The units are kept as they come, not copied: gortsplib reads each
		// packet into a buffer of its own (TCP: one per interleaved frame;
		// UDP: a new one once a packet was used) and its depacketisers
		// return fresh slices. TestRoomRecordsSegmentsBitExact would see
		// a buffer reused.
		u.AU = append(u.AU, au...)
		select {
		case queue <- u:
		default:
			overflow.Add(1)
			overflowed.Inc()
		}
	}
}
