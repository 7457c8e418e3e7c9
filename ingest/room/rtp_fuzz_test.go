package room

import (
	"encoding/binary"
	"testing"
	"time"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/sdp"
	"github.com/pion/rtp"
)

// cameraSDP is what a typical interview-room camera describes: H.264 video,
// G.711 audio; fuzzSDPs add H.265 and AAC.
const cameraSDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n" +
	"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
	"a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAKNkAeAIn5YQAAAMABAAAAwDwPGDJIA==,aMuMsg==\r\na=control:trackID=0\r\n" +
	"m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=1\r\n"

const h265AACSDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n" +
	"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=control:trackID=0\r\n" +
	"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000/1\r\n" +
	"a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1408\r\na=control:trackID=1\r\n"

func parseSDP(b []byte) (*description.Session, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return nil, err
	}
	var desc description.Session
	if err := desc.Unmarshal(&sd); err != nil {
		return nil, err
	}
	return &desc, nil
}

// FuzzDescribe feeds what a camera answers to DESCRIBE (truncated, garbled)
// through the SDP parser and track selection: errors, never panics.
func FuzzDescribe(f *testing.F) {
	f.Add([]byte(cameraSDP))
	f.Add([]byte(h265AACSDP))
	f.Add([]byte(cameraSDP[:len(cameraSDP)/2]))
	f.Fuzz(func(t *testing.T, b []byte) {
		desc, err := parseSDP(b)
		if err != nil {
			return
		}
		tracks, err := pickTracks(desc)
		if err == nil && len(tracks) == 0 {
			t.Fatal("no error and no tracks")
		}
	})
}

// FuzzDepacketize feeds a stream of RTP packets (each prefixed by its
// 2-byte length; the first byte picks the camera) through the depacketisers
// and the segment writer: garbage from a camera is counted and dropped, it
// never panics or stops the recorder.
func FuzzDepacketize(f *testing.F) {
	f.Add(seedPackets(0))
	f.Add(seedPackets(1))
	f.Add([]byte{0, 0, 3, 0x80, 0x60, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 1 {
			return
		}
		sdps := []string{cameraSDP, h265AACSDP}
		desc, err := parseSDP([]byte(sdps[int(b[0])%len(sdps)]))
		if err != nil {
			t.Fatal(err)
		}
		tracks, err := pickTracks(desc)
		if err != nil {
			t.Fatal(err)
		}
		var plain []fmp4.Track
		for _, tr := range tracks {
			plain = append(plain, tr.track)
		}
		seg := fmp4.NewSegmenter(t.TempDir(), "fuzz", time.Second, time.Second, plain)
		at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		for rest := b[1:]; len(rest) >= 2; {
			n := int(binary.BigEndian.Uint16(rest))
			rest = rest[2:]
			if n > len(rest) {
				break
			}
			var pkt rtp.Packet
			if err := pkt.Unmarshal(rest[:n]); err != nil {
				rest = rest[n:]
				continue
			}
			rest = rest[n:]
			i := int(pkt.PayloadType) % len(tracks)
			au, pcm, err := tracks[i].decode(&pkt)
			if err != nil || (au == nil && pcm == nil) {
				continue
			}
			at = at.Add(20 * time.Millisecond)
			if _, err := seg.Push(fmp4.Unit{Track: i, PTS: int64(pkt.Timestamp), At: at, AU: au, PCM: pcm}); err != nil && isWriteError(err) {
				t.Fatal(err)
			}
		}
		if _, err := seg.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// seedPackets is a short valid stream for camera c: a keyframe, frames and audio.
func seedPackets(c byte) []byte {
	out := []byte{c}
	add := func(pt uint8, seq uint16, ts uint32, payload []byte) {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload}
		b, _ := p.Marshal()
		out = binary.BigEndian.AppendUint16(out, uint16(len(b)))
		out = append(out, b...)
	}
	if c == 0 {
		// STAP-A with SPS and PPS, then an IDR and a P frame; PCMU audio.
		stap := []byte{0x18}
		for _, n := range [][]byte{fmp4test.SPS, fmp4test.PPS} {
			stap = binary.BigEndian.AppendUint16(stap, uint16(len(n)))
			stap = append(stap, n...)
		}
		add(96, 1, 0, stap)
		add(96, 2, 0, []byte{0x65, 0x88, 0x84, 0x00})
		add(96, 3, 3600, []byte{0x41, 0x9a, 0x01, 0x00})
		add(0, 1, 0, make([]byte, 160))
		add(0, 2, 160, make([]byte, 160))
		return out
	}
	// AAC-hbr: AU-headers-length 16 bits, one 13+3 bit header, the AU.
	add(97, 1, 0, []byte{0x00, 0x10, 0x00, 0x20, 0x21, 0x10, 0x05, 0x00})
	return out
}
