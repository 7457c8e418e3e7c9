package fmp4_test

import (
	"os"
	"testing"
	"time"

	mcfmp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"
)

// feedWithHoles pushes seconds of the synthetic stream, leaving out the
// audio ticks and video frames for which drop says so, and returns every
// segment closed, the last one included.
func feedWithHoles(t *testing.T, s *fmp4.Segmenter, seconds int, drop func(u fmp4.Unit, tick int) bool) []*fmp4.Segment {
	t.Helper()
	var closed []*fmp4.Segment
	for tick := 0; tick < seconds*50; tick++ {
		for _, u := range fmp4test.Units(tick, t0.Add(time.Duration(tick)*20*time.Millisecond)) {
			if drop(u, tick) {
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
	last, err := s.Close()
	if err != nil {
		t.Fatal(err)
	}
	return append(closed, last)
}

// sampleTimes reads a segment back: each sample's start on the source
// timeline (segment start plus its decode time in the file) per track id,
// and each track's end.
func sampleTimes(t *testing.T, seg *fmp4.Segment) (starts map[int][]time.Duration, ends map[int]time.Duration) {
	t.Helper()
	b, err := os.ReadFile(seg.Path)
	if err != nil {
		t.Fatal(err)
	}
	var parts mcfmp4.Parts
	if err := parts.Unmarshal(b[fmp4test.InitSize(b):]); err != nil {
		t.Fatal(err)
	}
	scale := map[int]int64{1: 90000, 2: 8000}
	off := seg.Start.Sub(t0)
	starts, ends = map[int][]time.Duration{}, map[int]time.Duration{}
	for _, p := range parts {
		for _, tr := range p.Tracks {
			pos := int64(tr.BaseTime)
			for _, smp := range tr.Samples {
				starts[tr.ID] = append(starts[tr.ID], off+time.Duration(pos*1e9/scale[tr.ID]))
				pos += int64(smp.Duration)
			}
			ends[tr.ID] = off + time.Duration(pos*1e9/scale[tr.ID])
		}
	}
	return starts, ends
}

func near(a, b time.Duration) bool { return a-b <= 40*time.Millisecond && b-a <= 40*time.Millisecond }

// TestSegmenterCutsAtMediaHoles: audio silent 15-18 s and video silent
// 30-42 s. Each hole ends a segment at the last unit before it and starts
// one after it; every sample stays where the camera's clock put it.
func TestSegmenterCutsAtMediaHoles(t *testing.T) {
	const second = 50 // ticks
	s := fmp4.NewSegmenter(t.TempDir(), "r1", time.Hour, time.Second, fmp4test.Tracks())
	segs := feedWithHoles(t, s, 50, func(u fmp4.Unit, tick int) bool {
		if u.Track == 1 {
			return tick >= 15*second && tick < 18*second
		}
		return tick >= 30*second && tick < 42*second
	})
	holes := s.TakeHoles()
	want := []struct {
		video      bool
		start, dur time.Duration
	}{{false, 15 * time.Second, 3 * time.Second}, {true, 30 * time.Second, 12 * time.Second}}
	if len(holes) != len(want) {
		t.Fatalf("holes %+v, want %d", holes, len(want))
	}
	for i, w := range want {
		h := holes[i]
		if h.Video != w.video || h.Duration != w.dur || !near(h.Start.Sub(t0), w.start) || h.End != h.Start.Add(w.dur) {
			t.Errorf("hole %d: %+v, want video=%v from %s for %s", i, h, w.video, w.start, w.dur)
		}
	}
	// Segments: [0, 18) with audio to 15 s; [18, 42) with video to 30 s; [42, 50).
	type span struct{ start, videoEnd, audioEnd time.Duration }
	wantSegs := []span{{0, 18 * time.Second, 15 * time.Second}, {18 * time.Second, 30 * time.Second, 42 * time.Second}, {42 * time.Second, 50 * time.Second, 50 * time.Second}}
	if len(segs) != len(wantSegs) {
		t.Fatalf("got %d segments, want %d", len(segs), len(wantSegs))
	}
	var audio, video []time.Duration
	for i, seg := range segs {
		w := wantSegs[i]
		starts, ends := sampleTimes(t, seg)
		if !near(seg.Start.Sub(t0), w.start) || !near(starts[1][0], w.start) || !near(starts[2][0], w.start) {
			t.Errorf("segment %d starts at %s, video at %s, audio at %s; want %s", i, seg.Start.Sub(t0), starts[1][0], starts[2][0], w.start)
		}
		if !near(ends[1], w.videoEnd) || !near(ends[2], w.audioEnd) {
			t.Errorf("segment %d: video ends %s, audio %s; want %s, %s", i, ends[1], ends[2], w.videoEnd, w.audioEnd)
		}
		if end := max(w.videoEnd, w.audioEnd); !near(seg.End.Sub(t0), end) {
			t.Errorf("segment %d ends at %s, want %s", i, seg.End.Sub(t0), end)
		}
		video = append(video, starts[1]...)
		audio = append(audio, starts[2]...)
	}
	// Every sample exactly where the source put it: nothing moved, nothing normalised.
	checkTimes(t, "audio", audio, 20*time.Millisecond, func(d time.Duration) bool { return d < 15*time.Second || d >= 18*time.Second })
	checkTimes(t, "video", video, 40*time.Millisecond, func(d time.Duration) bool { return d < 30*time.Second || d >= 42*time.Second })
}

// checkTimes compares got with every step from 0 to 50 s that sent says
// the source sent.
func checkTimes(t *testing.T, name string, got []time.Duration, step time.Duration, sent func(time.Duration) bool) {
	t.Helper()
	var want []time.Duration
	for d := time.Duration(0); d < 50*time.Second; d += step {
		if sent(d) {
			want = append(want, d)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, source sent %d", name, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s sample %d at %s, source %s", name, i, got[i], want[i])
		}
	}
}

// TestSegmenterKeepsAudioBeforeFirstKeyframe: the camera's audio often
// arrives before the first video keyframe; it opens the segment, and the
// video starts later in it, where the camera's clock puts it.
func TestSegmenterKeepsAudioBeforeFirstKeyframe(t *testing.T) {
	s := fmp4.NewSegmenter(t.TempDir(), "r1", time.Hour, time.Second, fmp4test.Tracks())
	segs := feedWithHoles(t, s, 3, func(u fmp4.Unit, tick int) bool {
		return u.Track == 0 && tick < 4 // the first two frames, a keyframe among them, are lost
	})
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	starts, _ := sampleTimes(t, segs[0])
	if segs[0].Start != t0 || starts[2][0] != 0 || starts[1][0] != time.Second {
		t.Errorf("segment starts %s, audio at %s, video at %s; want 0, 0, 1s", segs[0].Start.Sub(t0), starts[2][0], starts[1][0])
	}
	audio, _ := fmp4test.Media(t, segs[0].Path)
	for i, b := range audio {
		if b != fmp4test.AudioByte(i) {
			t.Fatalf("audio byte %d differs", i)
		}
	}
	if len(audio) != 3*8000 {
		t.Errorf("recorded %d audio bytes, sent %d", len(audio), 3*8000)
	}
}

// TestSegmenterCutsWhereTheCameraClockGoesBack: from 5 s on, the audio's
// timestamps are a second behind. That cannot be a duration, so it is a
// hole of no length: the segment ends and the next starts at the step.
func TestSegmenterCutsWhereTheCameraClockGoesBack(t *testing.T) {
	s := fmp4.NewSegmenter(t.TempDir(), "r1", time.Hour, time.Second, fmp4test.Tracks())
	var closed []*fmp4.Segment
	for tick := 0; tick < 500; tick++ {
		for _, u := range fmp4test.Units(tick, t0.Add(time.Duration(tick)*20*time.Millisecond)) {
			if u.Track == 1 && tick >= 250 {
				u.PTS -= 8000
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
	holes := s.TakeHoles()
	if len(holes) != 1 || !holes[0].Back || holes[0].Video || holes[0].Duration != 0 || !near(holes[0].Start.Sub(t0), 5*time.Second) {
		t.Fatalf("holes %+v, want one step back of the audio at 5 s", holes)
	}
	if len(closed) != 1 {
		t.Fatalf("%d segments closed, want 1", len(closed))
	}
	_, ends := sampleTimes(t, closed[0])
	if ends[2] != 5*time.Second {
		t.Errorf("audio before the step ends at %s, want 5s", ends[2])
	}
	s.Abandon()
}
