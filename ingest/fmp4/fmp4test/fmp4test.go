// Package fmp4test makes synthetic media for tests of code that records
// segments: H.264 at 25 fps with a keyframe each second, and G.711 mu-law in
// 20 ms packets whose bytes follow AudioByte, so a test can check them bit
// for bit.
package fmp4test

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	mcfmp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"custodian/ingest/fmp4"
)

// SPS and PPS describe a small baseline H.264 stream.
var (
	SPS = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
		0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	PPS = []byte{0x68, 0xcb, 0x8c, 0xb2}
)

// AudioByte is the i-th byte of the synthetic audio.
func AudioByte(i int) byte { return byte(i*7 + i/160) }

// Tracks are the synthetic stream's tracks: H.264, then G.711 mu-law at 8 kHz.
func Tracks() []fmp4.Track {
	return []fmp4.Track{fmp4.H264(SPS, PPS), fmp4.G711(true, 8000, 1)}
}

// Units is what arrives in the 20 ms tick number tick, at station time at:
// every second tick a video frame (a keyframe with SPS and PPS each
// second), then 160 bytes of audio.
func Units(tick int, at time.Time) []fmp4.Unit {
	pcm := make([]byte, 160)
	for i := range pcm {
		pcm[i] = AudioByte(tick*160 + i)
	}
	units := []fmp4.Unit{{Track: 1, PTS: int64(tick * 160), At: at, PCM: pcm}}
	if tick%2 == 0 {
		frame := tick / 2
		au := [][]byte{{0x41, 0x9a, byte(frame), 0x00}}
		if frame%25 == 0 {
			au = [][]byte{SPS, PPS, {0x65, 0x88, 0x84, byte(frame), 0x00}}
		}
		units = append([]fmp4.Unit{{Track: 0, PTS: int64(frame * 3600), At: at, AU: au}}, units...)
	}
	return units
}

// Feed pushes seconds of Units into s, tick i arriving at t0 + i*20ms, and
// returns the segments closed meanwhile.
func Feed(t testing.TB, s *fmp4.Segmenter, t0 time.Time, seconds int) []*fmp4.Segment {
	t.Helper()
	return FeedTicks(t, s, t0, 0, seconds*50, nil)
}

// FeedTicks pushes ticks [from, to) of Units into s, those units only that
// keep accepts (nil: all), and returns the segments closed meanwhile.
func FeedTicks(t testing.TB, s *fmp4.Segmenter, t0 time.Time, from, to int, keep func(fmp4.Unit) bool) []*fmp4.Segment {
	t.Helper()
	var closed []*fmp4.Segment
	for tick := from; tick < to; tick++ {
		for _, u := range Units(tick, t0.Add(time.Duration(tick)*20*time.Millisecond)) {
			if keep != nil && !keep(u) {
				continue
			}
			c, err := s.Push(u)
			if err != nil && err != fmp4.ErrNotReady {
				t.Fatal(err)
			}
			if c != nil {
				closed = append(closed, c)
			}
		}
	}
	return closed
}

// Media reads a segment back: the audio bytes of track 2 in order and the
// number of video samples of track 1.
func Media(t testing.TB, path string) (audio []byte, frames int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var parts mcfmp4.Parts
	if err := parts.Unmarshal(b[InitSize(b):]); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, p := range parts {
		for _, tr := range p.Tracks {
			for _, s := range tr.Samples {
				if tr.ID == 2 {
					audio = append(audio, s.Payload...)
				} else {
					frames++
				}
			}
		}
	}
	return audio, frames
}

// InitSize is where the first fragment of a segment's bytes b starts.
func InitSize(b []byte) int {
	pos := 0
	for pos+8 <= len(b) && string(b[pos+4:pos+8]) != "moof" {
		size := int(binary.BigEndian.Uint32(b[pos:]))
		if size < 8 {
			break
		}
		pos += size
	}
	return pos
}
