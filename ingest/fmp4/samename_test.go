package fmp4_test

import (
	"testing"
	"time"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"
)

// An encoder that restarts (GStreamer's x264enc on a caps renegotiation)
// sends a second IDR with a new SPS right after the first; both can arrive
// in the same millisecond. The new parameters cut the segment at once; the
// next one got the same name ("create segment: file exists"), which ended
// the recording session. Found by e2e/push_test.go. Now it is numbered.
func TestNewParametersInTheSameMillisecond(t *testing.T) {
	s := fmp4.NewSegmenter(t.TempDir(), "r1", 10*time.Second, time.Second, fmp4test.Tracks())
	sps2 := append([]byte(nil), fmp4test.SPS...)
	sps2[3] = 0x1f // another level: new parameters
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	units := []fmp4.Unit{
		{Track: 0, PTS: 0, At: at, AU: [][]byte{fmp4test.SPS, fmp4test.PPS, {0x65, 0x88, 0x84, 0, 0}}},
		{Track: 0, PTS: 3600, At: at, AU: [][]byte{sps2, fmp4test.PPS, {0x65, 0x88, 0x84, 1, 0}}},
	}
	var names []string
	for i, u := range units {
		closed, err := s.Push(u)
		if err != nil && err != fmp4.ErrNotReady {
			t.Fatalf("unit %d: %v", i, err)
		}
		if closed != nil {
			names = append(names, closed.Name)
		}
	}
	last, err := s.Close()
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, last.Name)
	if len(names) != 2 || names[0] == names[1] {
		t.Errorf("segments %v, want two named apart", names)
	}
	if !last.Start.Equal(at) {
		t.Errorf("the second segment starts %v, want %v", last.Start, at)
	}
}

// Recovery reads a numbered segment's start from its name as any other's.
func TestParseNumberedName(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 7e6, time.UTC)
	for _, name := range []string{fmp4.SegmentName("room-1", at), "room-1_20261123T090000.007Z-2.mp4"} {
		if got, ok := fmp4.ParseName("room-1", name); !ok || !got.Equal(at) {
			t.Errorf("%s: %v %v, want %v", name, got, ok, at)
		}
	}
}
