package fmp4

import (
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
)

// trackState is the writer's state of one track within the stream.
type trackState struct {
	Track
	id  int          // fMP4 track id, from 1
	dts dtsExtractor // nil until a video track's first keyframe

	held    *fmp4.Sample // newest sample; its duration is known when the next arrives
	heldDTS int64
	heldAt  time.Time
	lastDur uint32

	// endNS is where the track's last sample in the previous segment ended
	// (media time, ns), when ended.
	endNS int64
	ended bool

	pending []*fmp4.Sample
	base    uint64 // tfdt of pending[0] in the open segment
	next    uint64 // tfdt of the next sample appended in the open segment
	begun   bool   // has a sample in the open segment
}

// sampleAt is a sample with its decode time and station arrival time.
type sampleAt struct {
	smp *fmp4.Sample
	dts int64
	at  time.Time
}

// samples turns a unit into fMP4 samples, their decode times, and whether
// the unit is a video keyframe.
func (s *Segmenter) samples(t *trackState, u Unit) ([]*fmp4.Sample, []int64, bool, error) {
	switch t.name {
	case CodecH264, CodecH265:
		dts, key, err := s.videoDTS(t, u)
		if err != nil {
			return nil, nil, false, err
		}
		smp := &fmp4.Sample{}
		if t.name == CodecH264 {
			err = smp.FillH264(int32(u.PTS-dts), u.AU)
		} else {
			err = smp.FillH265(int32(u.PTS-dts), u.AU)
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("video sample: %w", err)
		}
		return []*fmp4.Sample{smp}, []int64{dts}, key, nil
	case CodecAAC:
		var out []*fmp4.Sample
		var dtss []int64
		for i, au := range u.AU {
			out = append(out, &fmp4.Sample{Payload: au})
			dtss = append(dtss, u.PTS+int64(i)*1024)
		}
		return out, dtss, false, nil
	default:
		return []*fmp4.Sample{{Payload: u.PCM}}, []int64{u.PTS}, false, nil
	}
}

// dtsExtractor derives decode times from presentation times: mediacommon's
// H.264 or H.265 DTSExtractor.
type dtsExtractor interface {
	Extract(au [][]byte, pts int64) (int64, error)
}

// videoDTS derives the decode time of a video access unit and picks up
// parameter sets sent in-band; before the first keyframe it returns ErrNotReady.
func (s *Segmenter) videoDTS(t *trackState, u Unit) (int64, bool, error) {
	key := isRandomAccess(t.name, u.AU)
	if t.dts == nil {
		if !key {
			return 0, false, ErrNotReady
		}
		t.dts = newDTSExtractor(t.name)
	}
	if key {
		s.updateParams(t, u.AU)
	}
	dts, err := t.dts.Extract(u.AU, u.PTS)
	if err != nil {
		t.dts = nil
		return 0, false, fmt.Errorf("%s timing: %w", t.name, err)
	}
	return dts, key, nil
}

func isRandomAccess(codec string, au [][]byte) bool {
	if codec == CodecH264 {
		return h264.IsRandomAccess(au)
	}
	return h265.IsRandomAccess(au)
}

func newDTSExtractor(codec string) dtsExtractor {
	if codec == CodecH264 {
		d := &h264.DTSExtractor{}
		d.Initialize()
		return d
	}
	d := &h265.DTSExtractor{}
	d.Initialize()
	return d
}

func (s *Segmenter) updateParams(t *trackState, au [][]byte) {
	if t.name == CodecH264 {
		s.updateH264Params(t, au)
	} else {
		s.updateH265Params(t, au)
	}
}

func (s *Segmenter) updateH264Params(t *trackState, au [][]byte) {
	c := t.codec.(*mp4.CodecH264)
	sps, pps := c.SPS, c.PPS
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
	}
	if string(sps) != string(c.SPS) || string(pps) != string(c.PPS) {
		t.codec = &mp4.CodecH264{SPS: clone(sps), PPS: clone(pps)}
		s.newInit = true
	}
}

func (s *Segmenter) updateH265Params(t *trackState, au [][]byte) {
	c := t.codec.(*mp4.CodecH265)
	vps, sps, pps := c.VPS, c.SPS, c.PPS
	for _, n := range au {
		if len(n) < 2 {
			continue
		}
		switch h265.NALUType((n[0] >> 1) & 0x3f) {
		case h265.NALUType_VPS_NUT:
			vps = n
		case h265.NALUType_SPS_NUT:
			sps = n
		case h265.NALUType_PPS_NUT:
			pps = n
		}
	}
	if string(vps) != string(c.VPS) || string(sps) != string(c.SPS) || string(pps) != string(c.PPS) {
		t.codec = &mp4.CodecH265{VPS: clone(vps), SPS: clone(sps), PPS: clone(pps)}
		s.newInit = true
	}
}

// ready reports whether every video track has parameter sets to write an init.
func (s *Segmenter) ready() bool {
	for _, t := range s.tracks {
		switch c := t.codec.(type) {
		case *mp4.CodecH264:
			if len(c.SPS) == 0 || len(c.PPS) == 0 {
				return false
			}
		case *mp4.CodecH265:
			if len(c.VPS) == 0 || len(c.SPS) == 0 || len(c.PPS) == 0 {
				return false
			}
		}
	}
	return true
}

func (s *Segmenter) mediaSince(t *trackState, dts int64) time.Duration {
	return time.Duration(ticksToNS(dts, t.clockRate) - s.startNS)
}

func ticksToNS(ticks int64, rate int) int64 {
	return ticks/int64(rate)*1e9 + ticks%int64(rate)*1e9/int64(rate)
}

// place sets where a track's first sample in the open segment goes.
func (s *Segmenter) place(t *trackState, dts int64) {
	off := ticksToNS(dts, t.clockRate) - s.startNS
	t.next = uint64(max(off, 0) * int64(t.clockRate) / 1e9)
	t.base, t.begun = t.next, true
}

// append holds smp until the next sample of its track tells its duration,
// and queues the one held before it.
func (s *Segmenter) append(t *trackState, smp *fmp4.Sample, dts int64, at time.Time) {
	if t.held != nil {
		// The camera's clock, never a normalised duration: Push cut the
		// segment at any hole or step back before dts.
		d := max(dts-t.heldDTS, 0)
		t.held.Duration, t.lastDur = uint32(d), uint32(d)
		s.enqueue(t, t.held)
	}
	if !t.begun {
		s.place(t, dts)
	}
	t.held, t.heldDTS, t.heldAt = smp, dts, at
}

func (s *Segmenter) enqueue(t *trackState, smp *fmp4.Sample) {
	if len(t.pending) == 0 {
		t.base = t.next
	}
	t.pending = append(t.pending, smp)
	t.next += uint64(smp.Duration)
}
