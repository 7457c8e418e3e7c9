// Command rtspsrc serves N copies of a pre-encoded H.264 stream plus G.711
// audio over RTSP on 127.0.0.1, looping forever, for bench/rooms.sh: it
// costs almost no CPU, so the recorders being measured get the machine.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

type handler struct {
	mu      sync.Mutex
	streams map[string]*gortsplib.ServerStream
}

func (h *handler) stream(path string) (*base.Response, *gortsplib.ServerStream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.streams[strings.TrimPrefix(path, "/")]
	if !ok {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s, nil
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return h.stream(ctx.Path)
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return h.stream(ctx.Path)
}

func (h *handler) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// accessUnits splits an Annex-B stream into access units: one slice each,
// with the parameter sets and SEI that precede it.
func accessUnits(b []byte) ([][][]byte, []byte, []byte, error) {
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(b); err != nil {
		return nil, nil, nil, err
	}
	var out [][][]byte
	var cur [][]byte
	var sps, pps []byte
	for _, n := range nalus {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		case h264.NALUTypeAccessUnitDelimiter:
			continue
		}
		cur = append(cur, n)
		if t := h264.NALUType(n[0] & 0x1f); t == h264.NALUTypeIDR || t == h264.NALUTypeNonIDR {
			out = append(out, cur)
			cur = nil
		}
	}
	return out, sps, pps, nil
}

func main() {
	file := flag.String("h264", "", "Annex-B H.264 file at 25 fps")
	n := flag.Int("streams", 16, "number of streams, served as /s0 .. /sN-1")
	addr := flag.String("addr", "127.0.0.1:8554", "listen address")
	flag.Parse()
	b, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	aus, sps, pps, err := accessUnits(b)
	if err != nil || len(aus) == 0 || sps == nil {
		log.Fatalf("%s: no H.264 access units (%v)", *file, err)
	}
	h := &handler{streams: map[string]*gortsplib.ServerStream{}}
	srv := &gortsplib.Server{Handler: h, RTSPAddress: *addr, WriteQueueSize: 4096}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	type src struct {
		stream       *gortsplib.ServerStream
		video, audio *description.Media
	}
	var srcs []*src
	for i := 0; i < *n; i++ {
		v := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{PayloadTyp: 96, SPS: sps, PPS: pps, PacketizationMode: 1}}}
		a := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}}}
		st := &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: []*description.Media{v, a}}}
		if err := st.Initialize(); err != nil {
			log.Fatal(err)
		}
		h.streams["s"+strconv.Itoa(i)] = st
		srcs = append(srcs, &src{stream: st, video: v, audio: a})
	}
	for _, s := range srcs {
		s := s
		venc, err := s.video.Formats[0].(*format.H264).CreateEncoder()
		if err != nil {
			log.Fatal(err)
		}
		aenc, err := s.audio.Formats[0].(*format.G711).CreateEncoder()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			pcm := make([]byte, 160)
			for i := range pcm {
				pcm[i] = byte(i)
			}
			for k := 0; ; k++ {
				<-tick.C
				pkts, _ := aenc.Encode(pcm)
				for _, p := range pkts {
					p.Timestamp += uint32(k * 160)
					s.stream.WritePacketRTP(s.audio, p)
				}
				if k%2 == 0 {
					frame := k / 2
					pkts, err := venc.Encode(aus[frame%len(aus)])
					if err != nil {
						log.Fatal(err)
					}
					for _, p := range pkts {
						p.Timestamp += uint32(frame * 3600)
						s.stream.WritePacketRTP(s.video, p)
					}
				}
			}
		}()
	}
	fmt.Printf("READY rtsp://%s/s0 .. s%d\n", *addr, *n-1)
	select {}
}
