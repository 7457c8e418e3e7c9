package fmp4_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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
		good, _, d := fmp4.Layout(b)
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

// crashed writes seconds of media into an hour-long segment and leaves it as
// a crash would: half of the next fragment's first box on disk. It returns
// the path and how many bytes were complete fragments.
func crashed(t *testing.T, dir string, seconds int) (path string, good int64) {
	t.Helper()
	s := fmp4.NewSegmenter(dir, "interview-9", time.Hour, time.Second, fmp4test.Tracks())
	fmp4test.Feed(t, s, t0, seconds)
	cur := s.Current()
	f, err := os.OpenFile(cur.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0, 0, 0x10, 0, 'm', 'o', 'o', 'f', 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.Abandon()
	return cur.Path, cur.Size
}

func TestRepairCutsToLastCompleteFragment(t *testing.T) {
	path, good := crashed(t, t.TempDir(), 4)
	seg, err := fmp4.Repair(path, "interview-9")
	if err != nil {
		t.Fatal(err)
	}
	if !seg.Recovered || seg.Size != good || seg.Path != path || seg.Name != filepath.Base(path) {
		t.Errorf("repaired %+v, want flagged recovered, size %d", seg, good)
	}
	if !seg.Start.Equal(t0) || seg.End.Sub(t0) < 3*time.Second || seg.End.Sub(t0) > 4*time.Second {
		t.Errorf("repaired span %s - %s", seg.Start, seg.End)
	}
	if len(seg.Codecs) != 2 || seg.Codecs[0] != fmp4.CodecH264 || seg.Codecs[1] != fmp4.CodecULaw {
		t.Errorf("codecs %v", seg.Codecs)
	}
	sha, n, err := digest.SumFile(path)
	if err != nil || sha != seg.SHA256 || n != good {
		t.Errorf("file on disk %s/%d (%v), repaired segment says %s/%d", sha, n, err, seg.SHA256, good)
	}
}

func TestRepairWithoutFragment(t *testing.T) {
	init, err := fmp4.MarshalInit(fmp4test.Tracks())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), fmp4.SegmentName("interview-9", t0))
	if err := os.WriteFile(path, init, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := fmp4.Repair(path, "interview-9"); !errors.Is(err, fmp4.ErrNoFragment) {
		t.Fatalf("repair of an init alone: %v, want ErrNoFragment", err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, init) {
		t.Errorf("the file changed: %v", err)
	}
}
