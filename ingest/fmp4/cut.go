package fmp4

import "time"

// holdForCut keeps u's audio samples for the next segment when a cut was
// asked for at an instant u arrived at or after: the audio cut is exact
// while video runs on to its keyframe. It holds nothing, and writes what it
// held into the open segment (releaseCut), when the audio has a hole or the
// video sends no keyframe within maxEarly units: audio is never dropped
// for the sake of a cut, and Push's hole handling sees the unit as usual.
func (s *Segmenter) holdForCut(t *trackState, u Unit, samples []sampleAt) bool {
	if s.cur == nil || s.cutAt.IsZero() || t.video || s.video == nil || u.At.Before(s.cutAt) {
		return false
	}
	prev, ok := s.lastHeldForCut(t)
	switch {
	case ok:
		gap := samples[0].dts - prev
		if gap <= 0 || ticksToNS(gap, t.clockRate) > int64(s.gapLimit) || len(s.early) >= maxEarly {
			s.releaseCut()
			return false
		}
	case t.held != nil:
		if _, hole := s.hole(t, samples[0].dts); hole {
			s.releaseCut()
			return false
		}
	}
	s.early = append(s.early, earlyUnit{t: t, samples: samples})
	return true
}

// lastHeldForCut is the decode time of t's last sample held for the next
// segment.
func (s *Segmenter) lastHeldForCut(t *trackState) (int64, bool) {
	for i := len(s.early) - 1; i >= 0; i-- {
		if e := s.early[i]; e.t == t {
			return e.samples[len(e.samples)-1].dts, true
		}
	}
	return 0, false
}

// heldForCut is the decode time of t's first sample held for the next
// segment, where t's last sample in the open one ends.
func (s *Segmenter) heldForCut(t *trackState) (int64, bool) {
	if s.cutAt.IsZero() {
		return 0, false
	}
	for _, e := range s.early {
		if e.t == t {
			return e.samples[0].dts, true
		}
	}
	return 0, false
}

// releaseCut writes the audio held for a cut into the open segment after
// all: the cut falls back to the next keyframe for every track.
func (s *Segmenter) releaseCut() {
	if s.cutAt.IsZero() {
		return
	}
	early := s.early
	s.early, s.cutAt = nil, time.Time{}
	for _, e := range early {
		for _, a := range e.samples {
			s.append(e.t, a.smp, a.dts, a.at)
		}
	}
}
