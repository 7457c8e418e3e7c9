package fmp4_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	mcfmp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"
	"custodian/internal/digest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func TestSegmenterCutsAtKeyframesAndKeepsTimeContinuous(t *testing.T) {
	s := fmp4.NewSegmenter(t.TempDir(), "r1", 3*time.Second, time.Second, fmp4test.Tracks())
	closed := fmp4test.Feed(t, s, t0, 10)
	last, err := s.Close()
	if err != nil {
		t.Fatal(err)
	}
	closed = append(closed, last)
	// Keyframes every second, segments at least 3 s: cuts at 3, 6, 9 s.
	want := []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, time.Second}
	if len(closed) != len(want) {
		t.Fatalf("got %d segments, want %d", len(closed), len(want))
	}
	var audio []byte
	for i, c := range closed {
		if got := c.End.Sub(c.Start); got != want[i] {
			t.Errorf("segment %d spans %s of station time, want %s", i, got, want[i])
		}
		b, err := os.ReadFile(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		sha, n, _ := digest.Sum(bytes.NewReader(b))
		if sha != c.SHA256 || n != c.Size {
			t.Errorf("segment %d: running hash %s/%d, file %s/%d", i, c.SHA256, c.Size, sha, n)
		}
		good, d, err := fmp4.Inspect(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if good != int64(len(b)) {
			t.Errorf("segment %d: only %d of %d bytes are complete boxes", i, good, len(b))
		}
		// Media time matches station time: both clocks run together here.
		if d != want[i]+20*time.Millisecond && d != want[i] && d != want[i]+40*time.Millisecond {
			t.Errorf("segment %d media duration %s, station span %s", i, d, want[i])
		}
		a, _ := fmp4test.Media(t, c.Path)
		audio = append(audio, a...)
	}
	for i, b := range audio {
		if b != fmp4test.AudioByte(i) {
			t.Fatalf("audio byte %d differs", i)
		}
	}
	if len(audio) != 10*8000 {
		t.Errorf("recorded %d audio bytes, sent %d", len(audio), 10*8000)
	}
}

func TestInitStoresG711AsSent(t *testing.T) {
	b, err := fmp4.MarshalInit(fmp4test.Tracks())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("ulaw")) || bytes.Contains(b, []byte("ipcm")) || bytes.Contains(b, []byte("pcmC")) {
		t.Error("init does not carry a ulaw sample entry in place of ipcm/pcmC")
	}
	if got := fmp4.InitCodecs(b); len(got) != 2 || got[0] != fmp4.CodecH264 || got[1] != fmp4.CodecULaw {
		t.Errorf("codecs %v", got)
	}
	var init mcfmp4.Init
	if err := init.Unmarshal(bytes.NewReader(b)); err != nil {
		t.Fatalf("mediacommon cannot read the init back: %v", err)
	}
}
