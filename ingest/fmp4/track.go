package fmp4

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
)

// Codec names as stored in Segment.Codecs, the catalog and logs.
const (
	CodecH264 = "h264"
	CodecH265 = "h265"
	CodecAAC  = "aac"
	CodecULaw = "pcm_mulaw"
	CodecALaw = "pcm_alaw"
)

// videoClockRate is the RTP clock of H.264 and H.265 (RFC 6184, RFC 7798).
const videoClockRate = 90000

// Track is one elementary stream to record, made by H264, H265, G711 or AAC.
type Track struct {
	name      string
	video     bool
	clockRate int // RTP clock rate = fMP4 timescale
	codec     mp4.Codec
	// entry, when set, replaces the type of mediacommon's sample entry: G.711
	// is written through mediacommon as an 8-bit LPCM placeholder and renamed
	// to QuickTime's 'ulaw'/'alaw', so the camera's bytes are stored unchanged.
	entry string
	// channels is the G.711 channel count: one byte per sample per channel.
	channels int
}

// H264 is an H.264 video track; parameter sets sent in-band later replace
// sps and pps. The slices are copied.
func H264(sps, pps []byte) Track {
	return Track{name: CodecH264, video: true, clockRate: videoClockRate,
		codec: &mp4.CodecH264{SPS: clone(sps), PPS: clone(pps)}}
}

// H265 is an H.265 video track, like H264.
func H265(vps, sps, pps []byte) Track {
	return Track{name: CodecH265, video: true, clockRate: videoClockRate,
		codec: &mp4.CodecH265{VPS: clone(vps), SPS: clone(sps), PPS: clone(pps)}}
}

// G711 is a G.711 audio track (mu-law when mulaw, else A-law), stored as sent.
func G711(mulaw bool, sampleRate, channels int) Track {
	name, entry := CodecALaw, "alaw"
	if mulaw {
		name, entry = CodecULaw, "ulaw"
	}
	ch := max(channels, 1)
	return Track{name: name, clockRate: sampleRate, entry: entry, channels: ch,
		codec: &mp4.CodecLPCM{BitDepth: 8, SampleRate: sampleRate, ChannelCount: ch}}
}

// AAC is an MPEG-4 audio track; its clock is the configured sample rate.
func AAC(config mpeg4audio.AudioSpecificConfig) Track {
	return Track{name: CodecAAC, clockRate: config.SampleRate, codec: &mp4.CodecMPEG4Audio{Config: config}}
}

// Codec is the track's codec name, one of the Codec constants.
func (t Track) Codec() string { return t.name }

// Video reports whether the track is H.264 or H.265 video.
func (t Track) Video() bool { return t.video }

// ClockRate is the track's RTP clock rate, which is also its fMP4 timescale.
func (t Track) ClockRate() int { return t.clockRate }

// naturalDuration is the length of an audio payload in clock units, or 0.
func (t Track) naturalDuration(payloadLen int) int64 {
	switch t.name {
	case CodecULaw, CodecALaw:
		return int64(payloadLen / max(t.channels, 1))
	case CodecAAC:
		return 1024
	}
	return 0
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
