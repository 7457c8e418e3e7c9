package fmp4_test

import (
	"testing"
	"time"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"
)

// feedTicks pushes ticks [from, to) of fmp4test.Units into s; video only
// when video is set, audio only when audio is.
func feedTicks(t *testing.T, s *fmp4.Segmenter, from, to int, video, audio bool) []*fmp4.Segment {
	t.Helper()
	return fmp4test.FeedTicks(t, s, t0, from, to, func(u fmp4.Unit) bool {
		return (u.Track == 0 && video) || (u.Track == 1 && audio)
	})
}

// checkAudio fails unless the segments' audio, in order, is exactly the
// bytes of ticks [0, ticks).
func checkAudio(t *testing.T, segs []*fmp4.Segment, ticks int) [][]byte {
	t.Helper()
	var all []byte
	var per [][]byte
	for _, c := range segs {
		a, _ := fmp4test.Media(t, c.Path)
		per = append(per, a)
		all = append(all, a...)
	}
	if len(all) != ticks*160 {
		t.Fatalf("recorded %d audio bytes, sent %d", len(all), ticks*160)
	}
	for i, b := range all {
		if b != fmp4test.AudioByte(i) {
			t.Fatalf("audio byte %d differs", i)
		}
	}
	return per
}

// A cut asked at an instant (an interview starts) ends the segment's audio
// exactly there: audio that arrives from then on opens the next segment,
// while video runs on to its next keyframe.
func TestSegmenterCutsAudioExactly(t *testing.T) {
	s := fmp4.NewSegmenter(t.TempDir(), "r1", time.Minute, time.Second, fmp4test.Tracks())
	closed := feedTicks(t, s, 0, 125, true, true)
	cutAt := t0.Add(2500 * time.Millisecond) // tick 125 arrives at the cut
	s.CutNext(cutAt)
	closed = append(closed, feedTicks(t, s, 125, 250, true, true)...)
	last, err := s.Close()
	if err != nil {
		t.Fatal(err)
	}
	closed = append(closed, last)
	if len(closed) != 2 {
		t.Fatalf("got %d segments, want 2", len(closed))
	}
	x, y := closed[0], closed[1]
	audio := checkAudio(t, closed, 250)
	if got := len(audio[0]) / 160; got != 125 {
		t.Errorf("first segment holds %d audio ticks, want the 125 before the cut", got)
	}
	if _, frames := fmp4test.Media(t, x.Path); frames != 75 {
		t.Errorf("first segment holds %d video frames, want 75 (up to the keyframe at 3 s)", frames)
	}
	if !x.CutAt.Equal(cutAt) || !y.CutAt.IsZero() {
		t.Errorf("CutAt %v and %v, want %v and zero", x.CutAt, y.CutAt, cutAt)
	}
	if !y.Start.Equal(cutAt) {
		t.Errorf("second segment starts %v, want at the cut %v (its first audio)", y.Start, cutAt)
	}
	if want := t0.Add(3 * time.Second); !x.End.Equal(want) {
		t.Errorf("first segment ends %v, want %v where its video ends", x.End, want)
	}
	// Its units arrived from the cut on, the held audio first: over the
	// same span as its media, so no drift (CI once flagged time-drift).
	if d := y.Drift(); d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("second segment drifts %v (arrived over %v, media %v)", d, y.Arrived, y.End.Sub(y.Start))
	}
}

// Audio held for the next segment is never lost: a disconnect before the
// keyframe writes it into the open segment, and so does a video track that
// stays silent for longer than the hold allows.
func TestSegmenterCutKeepsHeldAudio(t *testing.T) {
	t.Run("closed before the keyframe", func(t *testing.T) {
		s := fmp4.NewSegmenter(t.TempDir(), "r1", time.Minute, time.Second, fmp4test.Tracks())
		closed := feedTicks(t, s, 0, 125, true, true)
		s.CutNext(t0.Add(2500 * time.Millisecond))
		closed = append(closed, feedTicks(t, s, 125, 140, true, true)...)
		last, err := s.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkAudio(t, append(closed, last), 140)
	})
	t.Run("video silent", func(t *testing.T) {
		s := fmp4.NewSegmenter(t.TempDir(), "r1", time.Minute, time.Second, fmp4test.Tracks())
		closed := feedTicks(t, s, 0, 125, true, true)
		s.CutNext(t0.Add(2500 * time.Millisecond))
		closed = append(closed, feedTicks(t, s, 125, 1000, false, true)...)
		last, err := s.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkAudio(t, append(closed, last), 1000)
	})
}
