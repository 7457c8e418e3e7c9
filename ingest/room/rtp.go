package room

import (
	"errors"
	"fmt"

	"custodian/ingest/fmp4"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/pion/rtp"
)

// ErrNoMedia is returned when a camera offers no stream custodian can record.
var ErrNoMedia = errors.New("no H.264/H.265 video or G.711/AAC audio offered")

// rtpTrack is a recorded track with the media it comes from and its
// depacketiser. decode returns nothing (nil, nil, nil) while a unit is
// incomplete; it never blocks.
type rtpTrack struct {
	track  fmp4.Track
	media  *description.Media
	format format.Format
	decode func(*rtp.Packet) (au [][]byte, pcm []byte, err error)
}

// pickTracks chooses the first video and the first audio stream custodian
// can store without transcoding: H.264/H.265 video, G.711 or AAC audio;
// video first, whatever order the SDP has them in (GStreamer's pushes
// announce audio first), so that every segment of a room lists its tracks
// alike.
func pickTracks(desc *description.Session) ([]*rtpTrack, error) {
	var out []*rtpTrack
	var haveVideo, haveAudio bool
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			t, err := newRTPTrack(m, f, haveVideo, haveAudio)
			if err != nil {
				return nil, err
			}
			if t == nil {
				continue
			}
			out = append(out, t)
			haveVideo = haveVideo || t.track.Video()
			haveAudio = haveAudio || !t.track.Video()
			break // one format per media
		}
	}
	if len(out) == 0 {
		return nil, ErrNoMedia
	}
	if len(out) == 2 && !out[0].track.Video() {
		out[0], out[1] = out[1], out[0]
	}
	return out, nil
}

func newRTPTrack(m *description.Media, f format.Format, haveVideo, haveAudio bool) (*rtpTrack, error) {
	rt := &rtpTrack{media: m, format: f}
	switch f := f.(type) {
	case *format.H264:
		if haveVideo {
			return nil, nil
		}
		if err := h264Track(rt, f); err != nil {
			return nil, err
		}
	case *format.H265:
		if haveVideo {
			return nil, nil
		}
		if err := h265Track(rt, f); err != nil {
			return nil, err
		}
	case *format.G711:
		if haveAudio {
			return nil, nil
		}
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, fmt.Errorf("g711 depacketiser: %w", err)
		}
		rt.track = fmp4.G711(f.MULaw, f.ClockRate(), f.ChannelCount)
		rt.decode = func(p *rtp.Packet) ([][]byte, []byte, error) {
			pcm, err := dec.Decode(p)
			return nil, pcm, err
		}
	case *format.MPEG4Audio:
		if haveAudio || f.Config == nil {
			return nil, nil
		}
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, fmt.Errorf("aac depacketiser: %w", err)
		}
		rt.track = fmp4.AAC(*f.Config)
		rt.decode = func(p *rtp.Packet) ([][]byte, []byte, error) {
			aus, err := dec.Decode(p)
			if errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded) {
				return nil, nil, nil
			}
			return aus, nil, err
		}
	default:
		return nil, nil
	}
	if rt.track.ClockRate() <= 0 {
		return nil, fmt.Errorf("%s: invalid clock rate %d", rt.track.Codec(), rt.track.ClockRate())
	}
	return rt, nil
}

// h264Track sets rt up for H.264; keyframes get the parameter sets they lack.
func h264Track(rt *rtpTrack, f *format.H264) error {
	dec, err := f.CreateDecoder()
	if err != nil {
		return fmt.Errorf("h264 depacketiser: %w", err)
	}
	sps, pps := f.SafeParams()
	rt.track = fmp4.H264(sps, pps)
	params := newParamSets(false, sps, pps)
	rt.decode = func(p *rtp.Packet) ([][]byte, []byte, error) {
		au, err := dec.Decode(p)
		if errors.Is(err, rtph264.ErrMorePacketsNeeded) || errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		return params.fill(au), nil, nil
	}
	return nil
}

// h265Track sets rt up for H.265; keyframes get the parameter sets they lack.
func h265Track(rt *rtpTrack, f *format.H265) error {
	dec, err := f.CreateDecoder()
	if err != nil {
		return fmt.Errorf("h265 depacketiser: %w", err)
	}
	vps, sps, pps := f.SafeParams()
	rt.track = fmp4.H265(vps, sps, pps)
	params := newParamSets(true, vps, sps, pps)
	rt.decode = func(p *rtp.Packet) ([][]byte, []byte, error) {
		au, err := dec.Decode(p)
		if errors.Is(err, rtph265.ErrMorePacketsNeeded) || errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		return params.fill(au), nil, nil
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
