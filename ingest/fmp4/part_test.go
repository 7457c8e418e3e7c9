package fmp4

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// appendPart writes what mediacommon's Part.Marshal writes, byte for byte,
// for fragments of every shape: one or two tracks, sync and non-sync
// samples, composition offsets or none, empty payloads.
func TestAppendPartMatchesMediacommon(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		var tracks []*fmp4.PartTrack
		for id := range 1 + rng.IntN(3) {
			pt := &fmp4.PartTrack{ID: id + 1, BaseTime: rng.Uint64()}
			for range rng.IntN(60) {
				s := &fmp4.Sample{Duration: rng.Uint32(), Payload: make([]byte, rng.IntN(3000))}
				if rng.IntN(3) == 0 {
					s.IsNonSyncSample = true
				}
				if rng.IntN(4) == 0 {
					s.PTSOffset = int32(rng.Uint32())
				}
				for j := range s.Payload {
					s.Payload[j] = byte(rng.Uint32())
				}
				pt.Samples = append(pt.Samples, s)
			}
			tracks = append(tracks, pt)
		}
		seq := rng.Uint32()
		var want seekablebuffer.Buffer
		if err := (&fmp4.Part{SequenceNumber: seq, Tracks: tracks}).Marshal(&want); err != nil {
			t.Fatal(err)
		}
		got, ok := appendPart(nil, seq, tracks)
		if !ok || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("fragment %d: %d bytes differ from mediacommon's %d", i, len(got), want.Len())
		}
	}
}

func BenchmarkPartMarshal(b *testing.B) {
	tracks := []*fmp4.PartTrack{{ID: 1}, {ID: 2}}
	for range 25 {
		tracks[0].Samples = append(tracks[0].Samples, &fmp4.Sample{Duration: 3600, IsNonSyncSample: true, Payload: make([]byte, 20000)})
	}
	for range 50 {
		tracks[1].Samples = append(tracks[1].Samples, &fmp4.Sample{Duration: 160, Payload: make([]byte, 160)})
	}
	b.Run("mediacommon", func(b *testing.B) {
		var buf seekablebuffer.Buffer
		for b.Loop() {
			buf.Reset()
			_ = (&fmp4.Part{SequenceNumber: 1, Tracks: tracks}).Marshal(&buf)
		}
	})
	b.Run("appendPart", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = appendPart(buf[:0], 1, tracks)
		}
	})
}
