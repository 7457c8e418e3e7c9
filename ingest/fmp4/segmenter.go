package fmp4

import (
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// ErrNotReady marks a unit dropped while waiting for a keyframe or for the
// parameter sets an init needs.
var ErrNotReady = errors.New("waiting for a keyframe")

// Unit is one access unit (video) or payload (audio) of a track, with the
// station time it arrived and, when the camera sends RTCP sender reports,
// the camera's time of it.
type Unit struct {
	Track int       // index into the Segmenter's tracks
	PTS   int64     // in the track's clock rate
	At    time.Time // station time
	NTP   time.Time // camera time; zero when unknown
	AU    [][]byte  // H.264/H.265 NAL units, AAC access units
	PCM   []byte    // G.711 payload
}

// Segmenter turns units into segment files: it cuts at video keyframes once
// a segment is long enough, writes and syncs a fragment at least every
// fragment interval of station time, and reports each closed segment. It is
// not safe for concurrent use.
type Segmenter struct {
	dir      string
	prefix   string
	length   time.Duration
	fragment time.Duration

	tracks  []*trackState
	video   *trackState
	cur     *segmentFile
	seg     Segment
	startNS int64 // media time (ns) of the open segment's first sample
	lastFlu time.Time
	lastAt  time.Time
	newInit bool // parameters changed: cut at the next keyframe
	// gapLimit is the longest hole in a track a segment may span; holes
	// found are kept until TakeHoles.
	gapLimit time.Duration
	holes    []Hole
	early    []earlyUnit // audio waiting for the first keyframe
	// anchorAt and anchorNS are the start of the segment a hole closed, on
	// both clocks, for the next segment's start when anchored.
	anchorAt time.Time
	anchorNS int64
	anchored bool
	// broken is set when a write failed and the open segment was left on
	// disk for recovery.
	broken bool
	// cutAsked: CutNext was called; the next keyframe starts a segment.
	// cutAt is the instant asked for: audio from then on waits in early
	// for that segment (see holdForCut).
	cutAsked bool
	cutAt    time.Time
	// firstAt is when the open segment's first unit arrived.
	firstAt time.Time
	// lastName is the name of the last segment started.
	lastName string
}

// NewSegmenter writes segments of tracks into dir, named SegmentName(prefix,
// start), each cut at the first keyframe after length, with a fragment
// written and synced at least every fragment.
func NewSegmenter(dir, prefix string, length, fragment time.Duration, tracks []Track) *Segmenter {
	s := &Segmenter{dir: dir, prefix: prefix, length: length, fragment: fragment, gapLimit: DefaultGapThreshold}
	for i, t := range tracks {
		ts := &trackState{Track: t, id: i + 1}
		s.tracks = append(s.tracks, ts)
		if t.video && s.video == nil {
			s.video = ts
		}
	}
	s.reset()
	return s
}

// reset forgets timing state; the next segment starts at a keyframe.
func (s *Segmenter) reset() {
	for _, t := range s.tracks {
		t.dts, t.held, t.ended = nil, nil, false
	}
	s.early, s.anchored = nil, false
}

// Writing reports whether a segment is open.
func (s *Segmenter) Writing() bool { return s.cur != nil }

// Current is the open segment: path, name, start, camera time, codecs and
// the bytes synced so far. It is the zero Segment when none is open.
func (s *Segmenter) Current() Segment {
	if s.cur == nil {
		return Segment{}
	}
	c := s.seg
	c.Size = s.cur.size
	return c
}

// Broken reports whether a write failed since the last Close, leaving the
// segment it was writing on disk for Repair.
func (s *Segmenter) Broken() bool { return s.broken }

// Last is the station time of the last unit written.
func (s *Segmenter) Last() time.Time { return s.lastAt }

// Push adds one unit. A returned Segment was closed by this unit's cut: a
// keyframe after the segment length, or a hole in the unit's track longer
// than the gap threshold (see TakeHoles). ErrNotReady drops a unit that
// cannot begin a segment; a write error leaves no segment open (the file
// stays for Repair) and the caller decides.
func (s *Segmenter) Push(u Unit) (*Segment, error) {
	t := s.tracks[u.Track]
	smps, dtss, keyframe, err := s.samples(t, u)
	if err != nil || len(smps) == 0 {
		return nil, err
	}
	samples := make([]sampleAt, len(smps))
	for i := range smps {
		samples[i] = sampleAt{smp: smps[i], dts: dtss[i], at: u.At}
	}
	if s.holdForCut(t, u, samples) {
		s.lastAt = u.At
		return nil, nil
	}
	startsHere := keyframe || (s.video == nil && t == s.tracks[0])
	closed, afterHole, err := s.cut(u, t, dtss[0], startsHere)
	if err != nil {
		return nil, err
	}
	if s.cur == nil {
		if !startsHere && !afterHole {
			if !t.video {
				s.keepEarly(t, samples) // audio before the first keyframe opens the segment
			}
			return closed, nil
		}
		if err := s.start(u, t, dtss[0]); err != nil {
			return closed, err
		}
	}
	for _, a := range samples {
		s.append(t, a.smp, a.dts, a.at)
	}
	s.lastAt = u.At
	if u.At.Sub(s.lastFlu) >= s.fragment {
		if err := s.flush(u.At); err != nil {
			return closed, err
		}
	}
	return closed, nil
}

// cut closes the open segment before u, a unit of t whose first sample is
// at dts, when t has a hole before it (afterHole: the next segment starts
// at u whatever it is) or when the segment is long enough and u can begin
// the next.
func (s *Segmenter) cut(u Unit, t *trackState, dts int64, startsHere bool) (closed *Segment, afterHole bool, err error) {
	if s.cur == nil {
		return nil, false, nil
	}
	if t.held != nil {
		if h, ok := s.hole(t, dts); ok {
			s.holes = append(s.holes, h)
			// The next segment's start, this one's end and the hole are
			// placed by the camera's clock from this segment's start, not
			// by arrivals: audio and video reach us with different delays.
			s.anchorAt, s.anchorNS, s.anchored = s.seg.Start, s.startNS, true
			closed, err = s.closeHeld(true)
			return closed, true, err
		}
	}
	if startsHere && (s.newInit || s.cutAsked || s.mediaSince(t, dts) >= s.length) {
		closed, err = s.closeAt(u.At, t, dts)
	}
	return closed, false, err
}

// CutNext ends the open segment at the instant at (station time): an
// interview session starts or stops, and each segment is to belong to one
// session at most. Video is cut at its next keyframe; audio arriving from
// at on is kept for the next segment, so its cut is exact. The closed
// segment's CutAt is at.
func (s *Segmenter) CutNext(at time.Time) {
	if s.cur == nil {
		return
	}
	s.cutAsked = true
	if s.cutAt.IsZero() {
		s.cutAt = at
	}
}

// Tick writes the pending fragment when the fragment interval has passed
// without a unit to trigger it.
func (s *Segmenter) Tick(now time.Time) error {
	if s.cur == nil || now.Sub(s.lastFlu) < s.fragment {
		return nil
	}
	return s.flush(now)
}

// Close ends the open segment, if any, after its last sample (a disconnect,
// a stall, shutdown): held samples get their natural duration or that of
// their predecessor. Timing is forgotten either way, so the next segment
// starts at a keyframe. After an error the file stays for Repair.
func (s *Segmenter) Close() (*Segment, error) {
	s.broken = false
	defer s.reset()
	if s.cur == nil {
		return nil, nil
	}
	s.releaseCut()
	return s.closeHeld(false)
}

// closeHeld ends the open segment after every track's held sample, each
// with its natural duration or that of its predecessor. Its end is where
// the last sample ends, by its arrival or, byMedia, by the camera's clock
// from the segment's start.
func (s *Segmenter) closeHeld(byMedia bool) (*Segment, error) {
	end := s.lastAt
	if byMedia {
		end = s.seg.Start
	}
	for _, t := range s.tracks {
		if t.held == nil {
			continue
		}
		d := t.heldDuration()
		s.finishHeld(t, d)
		e := t.heldAt.Add(time.Duration(ticksToNS(d, t.clockRate)))
		if byMedia {
			e = s.mediaAt(t.endNS)
		}
		if e.After(end) {
			end = e
		}
	}
	return s.finish(end)
}

// mediaAt is the station time of media time ns in the open segment.
func (s *Segmenter) mediaAt(ns int64) time.Time {
	return s.seg.Start.Add(time.Duration(ns - s.startNS))
}

// finishHeld queues t's held sample with duration d as the track's last in
// the open segment.
func (s *Segmenter) finishHeld(t *trackState, d int64) {
	t.held.Duration, t.lastDur = uint32(d), uint32(d)
	s.enqueue(t, t.held)
	t.endNS, t.ended = ticksToNS(t.heldDTS+d, t.clockRate), true
	t.held = nil
}

// Abandon drops the open segment without writing more, as after an error;
// the file stays in its directory for Repair.
func (s *Segmenter) Abandon() {
	if s.cur != nil {
		s.cur.abandon()
		s.cur = nil
	}
	s.reset()
}

// start opens a segment at unit u, whose first sample of track t is at dts.
func (s *Segmenter) start(u Unit, t *trackState, dts int64) error {
	if !s.ready() {
		return ErrNotReady
	}
	var codecs []string
	for _, ts := range s.tracks {
		codecs = append(codecs, ts.name)
	}
	init, err := marshalInit(s.tracks)
	if err != nil {
		return err
	}
	startNS := s.startNSFor(t, dts)
	// The segment starts before u when audio that came first opens it.
	lead := time.Duration(ticksToNS(dts, t.clockRate) - startNS)
	start := u.At.Add(-lead)
	switch {
	case s.anchored:
		start = s.anchorAt.Add(time.Duration(startNS - s.anchorNS))
		s.anchored = false
	case !s.cutAt.IsZero() && len(s.early) > 0:
		// Audio held at a cut opens the segment: it starts when that audio
		// arrived, at or after the cut, not a jitter earlier.
		start = s.early[0].samples[0].at
	}
	f, name, err := s.create(start, init)
	if err != nil {
		return err
	}
	s.cur, s.newInit, s.cutAsked, s.cutAt = f, false, false, time.Time{}
	s.firstAt = u.At
	if len(s.early) > 0 && s.early[0].samples[0].at.Before(u.At) {
		s.firstAt = s.early[0].samples[0].at // audio held at a cut came first
	}
	camera := u.NTP
	if !camera.IsZero() {
		camera = camera.Add(-lead)
	}
	s.seg = Segment{Path: f.path, Name: name, Start: start, CameraTime: camera, Codecs: codecs}
	s.startNS = startNS
	s.lastFlu = u.At
	for _, ts := range s.tracks {
		ts.pending, ts.begun, ts.base, ts.next, ts.ended = nil, false, 0, 0, false
		if ts.held != nil {
			// A sample held from the previous segment opens this one.
			s.place(ts, ts.heldDTS)
		}
	}
	early := s.early
	s.early = nil
	for _, e := range early {
		for _, a := range e.samples {
			s.append(e.t, a.smp, a.dts, a.at)
		}
	}
	return nil
}

// flush writes what is pending as one fragment and syncs it.
func (s *Segmenter) flush(at time.Time) error {
	if s.cur == nil {
		return nil
	}
	var parts []*fmp4.PartTrack
	for _, t := range s.tracks {
		if len(t.pending) > 0 {
			parts = append(parts, &fmp4.PartTrack{ID: t.id, BaseTime: t.base, Samples: t.pending})
		}
	}
	s.lastFlu = at
	if len(parts) == 0 {
		return nil
	}
	if err := s.cur.writePart(parts); err != nil {
		s.cur.abandon()
		s.cur, s.broken = nil, true
		return err
	}
	for _, t := range s.tracks {
		t.pending = nil
	}
	return nil
}

// closeAt ends the open segment where the sample at dts of track cut begins,
// at station time at; held samples of other tracks are written with their
// natural duration.
func (s *Segmenter) closeAt(at time.Time, cut *trackState, dts int64) (*Segment, error) {
	for _, t := range s.tracks {
		if t.held == nil {
			continue
		}
		if t == cut {
			s.finishHeld(t, dts-t.heldDTS) // positive: cut found no hole before dts
			continue
		}
		if next, ok := s.heldForCut(t); ok {
			s.finishHeld(t, next-t.heldDTS) // up to its first sample in the next segment
			continue
		}
		if nat := t.naturalDuration(len(t.held.Payload)); nat > 0 {
			s.finishHeld(t, nat)
		}
		// A held video sample of a second video track moves to the next segment.
	}
	// End where the next segment will start: audio ending just before the
	// keyframe opens it.
	lead := ticksToNS(dts, cut.clockRate) - s.startNSFor(cut, dts)
	if !s.cutAt.IsZero() && len(s.early) > 0 {
		lead = 0 // the next segment starts at its audio, before this one's video ends
	}
	return s.finish(at.Add(-time.Duration(lead)))
}

// finish writes the last fragment, syncs and closes the file.
func (s *Segmenter) finish(end time.Time) (*Segment, error) {
	if err := s.flush(end); err != nil {
		return nil, err
	}
	sha, size, err := s.cur.finish()
	s.cur = nil
	if err != nil {
		return nil, err
	}
	c := s.seg
	c.SHA256, c.Size, c.End, c.CutAt = sha, size, end, s.cutAt
	if !s.firstAt.IsZero() && s.lastAt.After(s.firstAt) {
		c.Arrived = s.lastAt.Sub(s.firstAt)
	}
	if c.End.Before(c.Start) {
		c.End = c.Start
	}
	return &c, nil
}

// create makes the file of a segment starting at start, with a name no
// segment of this room had: two can start in the same millisecond, and
// the first may still be in the directory or already in the catalog.
func (s *Segmenter) create(start time.Time, init []byte) (*segmentFile, string, error) {
	for n := 1; ; n++ {
		name := numberedName(s.prefix, start, n)
		if name == s.lastName {
			continue
		}
		f, err := createSegmentFile(filepath.Join(s.dir, name), init)
		if errors.Is(err, fs.ErrExist) && n < 100 {
			continue
		}
		if err == nil {
			s.lastName = name
		}
		return f, name, err
	}
}
