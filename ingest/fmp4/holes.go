package fmp4

import "time"

// DefaultGapThreshold is how long a track may go without media, on the
// camera's clock, before the hole ends the segment.
const DefaultGapThreshold = time.Second

// maxEarly bounds the audio units kept while the video waits for its first
// keyframe: 500 packets are 10 s of 20 ms G.711 or AAC at 48 kHz.
const maxEarly = 500

// Hole is a span of one track's media the camera did not send (or that
// never arrived), longer than the gap threshold. The segment before it ends
// at the track's last sample and the next one begins after it.
type Hole struct {
	Track int    // index into the Segmenter's tracks
	Codec string // the track's Codec name
	Video bool
	// Start is the station time the track's last sample before the hole
	// ended (the segment's start plus the camera's clock since); End is
	// Start plus Duration, the hole on the camera's clock.
	Start, End time.Time
	Duration   time.Duration
	// Back is set when the camera's timestamps went backwards; Duration is 0.
	Back bool
}

// earlyUnit is audio that arrived before the first video keyframe: it
// opens the segment the keyframe starts, so not a packet is lost.
type earlyUnit struct {
	t       *trackState
	samples []sampleAt
}

// SetGapThreshold sets how long a hole in one track must be to end the
// segment; DefaultGapThreshold unless set.
func (s *Segmenter) SetGapThreshold(d time.Duration) { s.gapLimit = d }

// TakeHoles returns the holes found since the last call, oldest first.
func (s *Segmenter) TakeHoles() []Hole {
	h := s.holes
	s.holes = nil
	return h
}

// heldDuration is the duration of t's held sample when nothing follows it
// to tell: an audio payload's natural length, else the previous duration.
func (t *trackState) heldDuration() int64 {
	if d := t.naturalDuration(len(t.held.Payload)); d > 0 {
		return d
	}
	return int64(t.lastDur)
}

// hole reports whether t's next sample at dts, arriving at station time at,
// leaves a hole after t's held sample: more than the threshold of media
// missing, or a step back of the camera's clock.
func (s *Segmenter) hole(t *trackState, dts int64) (Hole, bool) {
	d := t.heldDuration()
	missing := dts - (t.heldDTS + d)
	back := dts <= t.heldDTS
	if !back && ticksToNS(missing, t.clockRate) <= int64(s.gapLimit) {
		return Hole{}, false
	}
	start := s.mediaAt(ticksToNS(t.heldDTS+d, t.clockRate))
	h := Hole{Track: t.id - 1, Codec: t.name, Video: t.video, Start: start, End: start, Back: back}
	if !back {
		h.Duration = time.Duration(ticksToNS(missing, t.clockRate))
		h.End = start.Add(h.Duration)
	}
	return h, true
}

// keepEarly holds audio that arrived before the first keyframe, dropping
// the oldest beyond maxEarly, and starting over when its clock jumps.
func (s *Segmenter) keepEarly(t *trackState, samples []sampleAt) {
	if n := len(s.early); n > 0 {
		last := s.early[n-1]
		if last.t == t {
			prev := last.samples[len(last.samples)-1]
			if gap := samples[0].dts - prev.dts; gap <= 0 || ticksToNS(gap, t.clockRate) > int64(s.gapLimit) {
				s.early = nil
			}
		}
	}
	if len(s.early) >= maxEarly {
		s.early = s.early[1:]
	}
	s.early = append(s.early, earlyUnit{t: t, samples: samples})
}

// startNS is where a segment that begins with a sample of t at dts starts
// on the media clock: at the earliest of that sample, the audio held for it,
// and the ends of the other tracks' last samples in the previous segment,
// so that no track's samples move.
func (s *Segmenter) startNSFor(t *trackState, dts int64) int64 {
	start := ticksToNS(dts, t.clockRate)
	for _, e := range s.early {
		start = min(start, ticksToNS(e.samples[0].dts, e.t.clockRate))
	}
	for _, ts := range s.tracks {
		if ts != t && ts.ended && start-ts.endNS <= int64(s.gapLimit) {
			start = min(start, ts.endNS)
		}
	}
	return start
}

// Tracks are the tracks the Segmenter writes, by index.
func (s *Segmenter) Tracks() []Track {
	out := make([]Track, len(s.tracks))
	for i, t := range s.tracks {
		out[i] = t.Track
	}
	return out
}
