// Package room records interview rooms' RTSP feeds: one supervisor per
// room that reconnects, records every hole as a gap, links segments to
// interview sessions and seals them into staging and the catalog.
package room

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"

	"custodian/ingest"
	"custodian/ingest/fmp4"
	"custodian/storage/catalog"
)

// Defaults of Config.
const (
	DefaultSegmentDuration = 10 * time.Minute
	// DefaultFragmentDuration is how much media a fragment holds before it is
	// written and fdatasync'ed: a power cut loses at most about this much.
	DefaultFragmentDuration = time.Second
	// MaxFragmentDuration is the most a power cut may cost.
	MaxFragmentDuration = 2 * time.Second
	DefaultQueueSize    = 2048
	DefaultStallTimeout = 10 * time.Second
	DefaultBackoffMin   = time.Second
	DefaultBackoffMax   = 30 * time.Second
	// clockStepLimit is how far the station's wall clock may drift from its
	// monotonic clock between two units before it counts as a step.
	clockStepLimit = time.Second
	// stableAfter resets the backoff once a connection has lasted this long.
	stableAfter = 30 * time.Second
)

// Room transports.
const (
	TransportTCP = "tcp"
	TransportUDP = "udp"
)

// Config is one interview room's feed.
type Config struct {
	ID string
	// URL is rtsp:// or rtsps://, possibly with user:password. It is a
	// secret: custodian never logs it, only Redacted(URL).
	URL       string
	Transport string // tcp (default) or udp
	Segment   time.Duration
	Fragment  time.Duration
	// Dir is the room's directory (<data_dir>/rooms/<id>); open segments live
	// in Dir/open until they are sealed into staging.
	Dir          string
	QueueSize    int
	StallTimeout time.Duration
	BackoffMin   time.Duration
	BackoffMax   time.Duration
}

func (c *Config) defaults() {
	if c.Transport == "" {
		c.Transport = TransportTCP
	}
	if c.Segment <= 0 {
		c.Segment = DefaultSegmentDuration
	}
	if c.Fragment <= 0 || c.Fragment > MaxFragmentDuration {
		c.Fragment = DefaultFragmentDuration
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffMin)
	}
}

// Room records one interview room's RTSP feed into segments, forever: it
// reconnects with capped exponential backoff and jitter, records every hole
// as a gap, and seals each finished segment into staging and the catalog.
type Room struct {
	cfg     Config
	env     ingest.Env
	metrics *Metrics
	openDir string

	// abandoned is set by the writer when a segment was left in the open
	// directory after a write error; the next attempt recovers it first.
	abandoned bool

	mu     sync.Mutex
	status Status
	gap    *catalog.Gap // the hole being recorded until the next segment starts
}

// Status is the live state of a room for the admin API.
type Status struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"` // redacted
	Connected  bool      `json:"connected"`
	Since      time.Time `json:"since,omitzero"`
	Segment    string    `json:"segment,omitempty"`
	Codecs     []string  `json:"codecs,omitempty"`
	Reconnects int       `json:"reconnects"`
	LastError  string    `json:"last_error,omitempty"`
	Sealed     int       `json:"sealed"`
}

// New builds the recorder of one room.
func New(cfg Config, env ingest.Env, m *Metrics) *Room {
	cfg.defaults()
	if env.Now == nil {
		env.Now = time.Now
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	r := &Room{cfg: cfg, env: env, metrics: m, openDir: filepath.Join(cfg.Dir, "open")}
	r.status = Status{ID: cfg.ID, URL: Redacted(cfg.URL)}
	for _, reason := range []string{catalog.GapDisconnect, catalog.GapStall, catalog.GapClockStep,
		catalog.GapOverflow, catalog.GapWriteError, catalog.GapRestart, catalog.GapCrash} {
		m.Gaps.WithLabelValues(cfg.ID, reason)
	}
	m.Connected.WithLabelValues(cfg.ID).Set(0)
	m.Reconnects.WithLabelValues(cfg.ID)
	m.PacketsLost.WithLabelValues(cfg.ID)
	m.Overflow.WithLabelValues(cfg.ID)
	return r
}

// ID is the room id.
func (r *Room) ID() string { return r.cfg.ID }

// Status returns the live state; it never contains the URL's credentials.
func (r *Room) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	s.Codecs = append([]string(nil), s.Codecs...)
	return s
}

// Connected reports whether the feed is being recorded now.
func (r *Room) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status.Connected
}

func (r *Room) setStatus(fn func(*Status)) {
	r.mu.Lock()
	fn(&r.status)
	r.mu.Unlock()
}

// sealJob is one step for the sealer, in order: a gap, or a closed segment.
type sealJob struct {
	seg *fmp4.Segment
	gap *catalog.Gap
	// done, when set, is closed once every earlier job is finished.
	done chan struct{}
}

// Run records until ctx is done; it first seals what a crash left open.
func (r *Room) Run(ctx context.Context) error {
	if err := os.MkdirAll(r.openDir, 0o750); err != nil {
		return fmt.Errorf("room %s: %w", r.cfg.ID, err)
	}
	jobs := make(chan sealJob, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := range jobs {
			if j.done != nil {
				close(j.done)
				continue
			}
			r.seal(j)
		}
	}()
	defer func() {
		close(jobs)
		wg.Wait()
	}()

	lastEnd, reason := r.recoverOpen(jobs)
	if lastEnd.IsZero() {
		lastEnd, reason = r.lastRecorded(), catalog.GapRestart
	}
	if !lastEnd.IsZero() {
		r.gap = &catalog.Gap{Room: r.cfg.ID, Start: lastEnd, Reason: reason}
	}

	backoff := r.cfg.BackoffMin
	for {
		began := r.env.Now()
		err := r.connect(ctx, jobs)
		if ctx.Err() != nil {
			return nil
		}
		if r.env.Now().Sub(began) > stableAfter {
			backoff = r.cfg.BackoffMin
		}
		msg := Redact(err.Error(), r.cfg.URL)
		r.metrics.Reconnects.WithLabelValues(r.cfg.ID).Inc()
		r.setStatus(func(s *Status) { s.Reconnects++; s.LastError = msg })
		wait := backoff/2 + rand.N(backoff/2+1)
		r.env.Log.Warn("room feed lost", keyRoom, r.cfg.ID, keyErr, msg, keyRetryIn, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, r.cfg.BackoffMax)
		if r.abandoned || isWriteError(err) {
			// A disk that was full may have room again: seal what the failed
			// writes left, once every queued segment is sealed.
			done := make(chan struct{})
			jobs <- sealJob{done: done}
			<-done
			r.recoverOpen(jobs)
			r.abandoned = false
		}
	}
}

// lastRecorded is the end of the newest segment of this room in the catalog.
func (r *Room) lastRecorded() time.Time {
	recs, err := r.env.Catalog.List(catalog.Filter{Source: catalog.SourceRoom, SourceID: r.cfg.ID})
	if err != nil {
		r.env.Log.Warn("cannot read the room's last segment", keyRoom, r.cfg.ID, keyErr, err)
		return time.Time{}
	}
	var last time.Time
	for _, rec := range recs {
		if rec.EndedAt.After(last) {
			last = rec.EndedAt
		}
	}
	return last
}

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

	desc, _, err := c.Describe(u)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	tracks, err := pickTracks(desc)
	if err != nil {
		return err
	}
	for _, t := range tracks {
		if _, err := c.Setup(desc.BaseURL, t.media, 0, 0); err != nil {
			return fmt.Errorf("setup %s: %w", t.track.Codec(), err)
		}
	}
	queue := make(chan fmp4.Unit, r.cfg.QueueSize)
	var overflow atomic.Uint64
	overflowed := r.metrics.Overflow.WithLabelValues(id)
	for i, t := range tracks {
		c.OnPacketRTP(t.media, t.format, r.onPacket(c, i, t, queue, &overflow, overflowed))
	}
	if _, err := c.Play(nil); err != nil {
		return fmt.Errorf("play: %w", err)
	}

	var codecs []string
	var plain []fmp4.Track
	for _, t := range tracks {
		codecs = append(codecs, t.track.Codec())
		plain = append(plain, t.track)
	}
	r.metrics.Connected.WithLabelValues(id).Set(1)
	r.setStatus(func(s *Status) { s.Connected, s.Since, s.Codecs, s.LastError = true, r.env.Now(), codecs, "" })
	r.env.Log.Info("room connected", keyRoom, id, keyURL, Redacted(r.cfg.URL), keyCodecs, strings.Join(codecs, ","), keyTransport, r.cfg.Transport)
	defer func() {
		r.metrics.Connected.WithLabelValues(id).Set(0)
		r.setStatus(func(s *Status) { s.Connected, s.Segment = false, "" })
	}()

	seg := fmp4.NewSegmenter(r.openDir, id, r.cfg.Segment, r.cfg.Fragment, plain)
	err = r.record(ctx, seg, queue, &overflow, waitc, &waited, jobs)
	reason := catalog.GapDisconnect
	switch {
	case errors.Is(err, errStall):
		reason = catalog.GapStall
	case errors.Is(err, errClockStep):
		reason = catalog.GapClockStep
	case isWriteError(err):
		reason = catalog.GapWriteError
	}
	r.closeSegment(seg, reason, jobs)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// onPacket is the RTP callback of one track: depacketise and hand over,
// never block. A full queue drops the unit and counts it; the writer turns
// the count into a gap.
func (r *Room) onPacket(c *gortsplib.Client, i int, t *rtpTrack, queue chan<- fmp4.Unit, overflow *atomic.Uint64, overflowed prometheus.Counter) func(*rtp.Packet) {
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
		// The depacketiser's output may point into the reader's buffer.
		for _, n := range au {
			u.AU = append(u.AU, clone(n))
		}
		select {
		case queue <- u:
		default:
			overflow.Add(1)
			overflowed.Inc()
		}
	}
}

// record is the writer loop: all file I/O of the room happens here.
func (r *Room) record(ctx context.Context, seg *fmp4.Segmenter, queue <-chan fmp4.Unit, overflow *atomic.Uint64,
	waitc <-chan error, waited *bool, jobs chan<- sealJob) error {
	tick := time.NewTicker(r.cfg.Fragment / 2)
	defer tick.Stop()
	var seenOverflow uint64
	var prev time.Time
	lastUnit := r.env.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-waitc:
			*waited = true
			if err == nil {
				err = errors.New("stream closed")
			}
			return fmt.Errorf("stream: %w", err)
		case now := <-tick.C:
			if err := seg.Tick(r.env.Now()); err != nil {
				return err
			}
			if now.Sub(lastUnit) > r.cfg.StallTimeout {
				return fmt.Errorf("%w for %s", errStall, r.cfg.StallTimeout)
			}
		case u := <-queue:
			lastUnit = time.Now()
			if !prev.IsZero() {
				if step := clockStep(prev, u.At); step != 0 {
					return fmt.Errorf("%w by %s", errClockStep, step)
				}
			}
			prev = u.At
			if n := overflow.Load(); n != seenOverflow {
				r.env.Log.Warn("room writer fell behind; units dropped", keyRoom, r.cfg.ID, keyDropped, n-seenOverflow)
				seenOverflow = n
				r.closeSegment(seg, catalog.GapOverflow, jobs)
			}
			wasOpen := seg.Writing()
			closed, err := seg.Push(u)
			if closed != nil {
				jobs <- sealJob{seg: closed}
			}
			if err != nil && !errors.Is(err, fmp4.ErrNotReady) {
				if isWriteError(err) {
					return err
				}
				r.metrics.DecodeErrors.WithLabelValues(r.cfg.ID).Inc()
				r.env.Log.Debug("room unit dropped", keyRoom, r.cfg.ID, keyErr, err)
			}
			if seg.Writing() && (!wasOpen || closed != nil) {
				r.segmentStarted(seg, jobs)
			}
		}
	}
}

// clockStep returns how far the wall clock jumped between a and b beyond the
// monotonic clock's measure, or 0 when it did not.
func clockStep(a, b time.Time) time.Duration {
	mono := b.Sub(a)
	wall := b.Round(0).Sub(a.Round(0))
	if d := wall - mono; d > clockStepLimit || d < -clockStepLimit {
		return d
	}
	return 0
}

func (r *Room) segmentStarted(seg *fmp4.Segmenter, jobs chan<- sealJob) {
	cur := seg.Current()
	r.setStatus(func(s *Status) { s.Segment = cur.Name })
	r.env.Log.Info("room segment opened", keyRoom, r.cfg.ID, keySegment, cur.Name)
	r.mu.Lock()
	g := r.gap
	r.gap = nil
	r.mu.Unlock()
	if g != nil {
		g.End = cur.Start
		if g.End.Before(g.Start) {
			g.End = g.Start // the station clock stepped back
		}
		jobs <- sealJob{gap: g}
	}
}

// closeSegment closes the open segment, queues it for sealing, and starts a
// gap with the given reason at its end.
func (r *Room) closeSegment(seg *fmp4.Segmenter, reason string, jobs chan<- sealJob) {
	wasOpen := seg.Writing() || seg.Broken()
	if seg.Broken() {
		r.abandoned = true
	}
	end := seg.Last()
	closed, err := seg.Close()
	if err != nil {
		r.abandoned = true
		r.env.Log.Error("room segment could not be closed; it stays for recovery", keyRoom, r.cfg.ID, keyErr, err)
		r.env.Metrics.Errors.WithLabelValues(string(catalog.SourceRoom), ingest.ErrKindStage).Inc()
		reason = catalog.GapWriteError
	}
	if closed != nil {
		jobs <- sealJob{seg: closed}
		end = closed.End
	}
	if !wasOpen {
		return
	}
	r.mu.Lock()
	if r.gap == nil {
		r.gap = &catalog.Gap{Room: r.cfg.ID, Start: end, Reason: reason}
	}
	r.mu.Unlock()
}

func isWriteError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}

// seal hands a closed segment to staging and the catalog, or records a gap.
// A segment that cannot be sealed stays in the open directory; the next
// start recovers it.
func (r *Room) seal(j sealJob) {
	id := r.cfg.ID
	if g := j.gap; g != nil {
		r.metrics.Gaps.WithLabelValues(id, g.Reason).Inc()
		if err := r.env.Catalog.AddGap(*g); err != nil {
			r.env.Log.Error("gap not recorded", keyRoom, id, keyErr, err)
			r.env.Metrics.Errors.WithLabelValues(string(catalog.SourceRoom), ingest.ErrKindCatalog).Inc()
			return
		}
		r.env.Log.Warn("room gap", keyRoom, id, keyReason, g.Reason, keyStart, g.Start, keyEnd, g.End, keyDuration, g.Duration().Round(time.Millisecond))
		return
	}
	s := j.seg
	now := r.env.Now().UTC()
	// The record comes first, naming the hash the writer computed, and the
	// bytes move into staging after: a crash in between leaves a record
	// whose segment is still in the open directory, which start-up marks
	// missing and recovery seals again onto the same record. The other order
	// would leave footage in staging that no record names.
	rec := catalog.Recording{
		Station: r.env.Station, Source: catalog.SourceRoom, SourceID: id,
		Name: s.Name, Ext: fmp4.Ext, Kind: "video",
		StartedAt: s.Start.UTC(), EndedAt: s.End.UTC(), CameraTime: s.CameraTime.UTC(),
		ReceivedAt: now, Size: s.Size, SHA256: s.SHA256, Codecs: s.Codecs,
		State: catalog.StateStaged, StagedAt: now,
	}
	if s.CameraTime.IsZero() {
		rec.CameraTime = time.Time{}
	}
	if !hasVideo(s.Codecs) {
		rec.Kind = "audio"
	}
	if s.Recovered {
		rec.AddFlag(catalog.FlagRecovered)
	}
	sessions, err := r.env.Catalog.Sessions(id, rec.StartedAt, rec.EndedAt)
	if err != nil {
		r.env.Log.Error("interview sessions unreadable; segment sealed without case link", keyRoom, id, keyErr, err)
	}
	catalog.LinkSessions(&rec, sessions)
	detail := fmt.Sprintf("room %s segment %s", id, s.Name)
	if rec.Case != "" {
		detail += " case " + rec.Case
	}
	saved, _, err := r.env.Catalog.Add(rec, catalog.Event{Type: catalog.EventIngested, Detail: detail})
	if err != nil {
		r.env.Log.Error("room segment not catalogued; it stays for recovery", keyRoom, id, keySHA, s.SHA256, keyErr, err)
		r.env.Metrics.Errors.WithLabelValues(string(catalog.SourceRoom), ingest.ErrKindCatalog).Inc()
		return
	}
	blob, err := r.env.Staging.Adopt(s.Path, s.SHA256, s.Size)
	if err != nil {
		r.env.Log.Error("room segment not staged; it stays for recovery", keyRoom, id, keyPath, s.Path, keyErr, err)
		r.env.Metrics.Errors.WithLabelValues(string(catalog.SourceRoom), ingest.ErrKindStage).Inc()
		return
	}
	if saved.State != catalog.StateVerified && saved.State != catalog.StateArchived {
		saved, err = r.env.Catalog.Update(saved.ID, func(x *catalog.Recording) error {
			x.State, x.VerifiedAt = catalog.StateVerified, r.env.Now().UTC()
			return nil
		}, catalog.Event{Type: catalog.EventVerified, Detail: "staged copy re-read and hash-verified"})
		if err != nil {
			r.env.Log.Error("room segment verified but not recorded; recovery will finish it", keyRoom, id, keySHA, blob.SHA256, keyErr, err)
			r.env.Metrics.Errors.WithLabelValues(string(catalog.SourceRoom), ingest.ErrKindCatalog).Inc()
			return
		}
	}
	r.env.Metrics.Files.WithLabelValues(string(catalog.SourceRoom)).Inc()
	r.env.Metrics.Bytes.WithLabelValues(string(catalog.SourceRoom)).Add(float64(blob.Size))
	r.setStatus(func(st *Status) { st.Sealed++ })
	r.env.Log.Info("room segment sealed", keyRoom, id, keyID, saved.ID, keySHA, saved.SHA256, keySize, saved.Size,
		keySegment, s.Name, keyDuration, s.End.Sub(s.Start).Round(time.Millisecond), keyFlags, strings.Join(saved.Flags, ","))
}

func hasVideo(codecs []string) bool {
	for _, c := range codecs {
		if c == fmp4.CodecH264 || c == fmp4.CodecH265 {
			return true
		}
	}
	return false
}

// Redacted returns u without its userinfo (and, if it is not a URL, a
// placeholder): the form of a room URL that may be logged or shown.
func Redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable url)"
	}
	p.User = nil
	return p.String()
}

// Redact removes the userinfo of rawURL, raw and decoded, from s.
func Redact(s, rawURL string) string {
	p, err := url.Parse(rawURL)
	if err != nil || p.User == nil {
		return s
	}
	var secrets []string
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			secrets = append(secrets, rest[:at])
		}
	}
	secrets = append(secrets, p.User.String())
	if name := p.User.Username(); len(name) >= 4 {
		secrets = append(secrets, name) // shorter ones would garble every message
	}
	if pw, ok := p.User.Password(); ok {
		secrets = append(secrets, pw)
	}
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}
