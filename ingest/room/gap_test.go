package room

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"
	"custodian/storage/catalog"
)

// writer runs the room's writer loop on a segmenter of the synthetic
// tracks; stop ends it and returns what it queued for the sealer.
type writer struct {
	r     *Room
	seg   *fmp4.Segmenter
	queue chan fmp4.Unit
	jobs  chan sealJob
	stop  func() (segs []*fmp4.Segment, gaps []catalog.Gap, err error)
}

func startWriter(t *testing.T, id string) *writer {
	t.Helper()
	e := newTestEnv(t)
	cfg := e.roomConfig(id, "rtsp://127.0.0.1:1/none")
	r := New(cfg, e.Env, nil)
	if err := os.MkdirAll(r.openDir, 0o750); err != nil {
		t.Fatal(err)
	}
	w := &writer{r: r, queue: make(chan fmp4.Unit, 4096), jobs: make(chan sealJob, 1000)}
	w.seg = fmp4.NewSegmenter(r.openDir, cfg.ID, time.Hour, time.Second, fmp4test.Tracks())
	var overflow atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	waited := false
	go func() { done <- r.record(ctx, w.seg, w.queue, &overflow, make(chan error), &waited, w.jobs) }()
	w.stop = func() ([]*fmp4.Segment, []catalog.Gap, error) {
		var err error
		for len(w.queue) > 0 && err == nil {
			select {
			case err = <-done:
			case <-time.After(time.Millisecond):
			}
		}
		cancel()
		if err == nil {
			err = <-done
		}
		w.seg.Abandon()
		close(w.jobs)
		var segs []*fmp4.Segment
		var gaps []catalog.Gap
		for j := range w.jobs {
			if j.gap != nil {
				gaps = append(gaps, *j.gap)
				r.seal(j)
			} else {
				segs = append(segs, j.seg)
			}
		}
		return segs, gaps, err
	}
	return w
}

// TestMediaHolesBecomeGaps: audio silent 3-4.5 s and video silent 6-9 s on
// the camera's clock. Each hole closes a segment and is a gap of its track:
// media_gap when shorter than the stall timeout (2 s here), stall when not.
func TestMediaHolesBecomeGaps(t *testing.T) {
	w := startWriter(t, "interview-9")
	// Stamped as if in real time (base keeps its monotonic reading, so the
	// clock-step check sees none), so each segment has its own name.
	base := time.Now()
	for tick := 0; tick < 600; tick++ {
		for _, u := range fmp4test.Units(tick, base.Add(time.Duration(tick)*20*time.Millisecond)) {
			audioHole := u.Track == 1 && tick >= 150 && tick < 225
			videoHole := u.Track == 0 && tick >= 300 && tick < 450
			if !audioHole && !videoHole {
				w.queue <- u
			}
		}
	}
	segs, gaps, err := w.stop()
	if err != context.Canceled {
		t.Fatalf("record: %v", err)
	}
	if len(segs) != 2 {
		t.Errorf("%d segments closed, want 2 (one at each hole)", len(segs))
	}
	want := []struct {
		reason, track string
		dur           time.Duration
	}{{catalog.GapMedia, "audio", 1500 * time.Millisecond}, {catalog.GapStall, "video", 3 * time.Second}}
	if len(gaps) != len(want) {
		t.Fatalf("gaps %+v, want %d", gaps, len(want))
	}
	for i, w := range want {
		g := gaps[i]
		if g.Reason != w.reason || g.Track != w.track || g.Duration() != w.dur {
			t.Errorf("gap %d: %s %s for %s, want %s %s for %s", i, g.Reason, g.Track, g.Duration(), w.reason, w.track, w.dur)
		}
	}
	stored, err := w.r.env.Catalog.Gaps("interview-9", time.Time{}, time.Now().Add(time.Hour))
	if err != nil || len(stored) != 2 || stored[0].Track != "audio" || stored[1].Track != "video" {
		t.Errorf("catalog gaps %+v, %v", stored, err)
	}
	for reason, n := range map[string]float64{catalog.GapMedia: 1, catalog.GapStall: 1} {
		if got := testutil.ToFloat64(w.r.metrics.Gaps.WithLabelValues("interview-9", reason)); got != n {
			t.Errorf("custodian_room_gaps_total{reason=%q} = %v, want %v", reason, got, n)
		}
	}
}

// TestTrackStallWhileOtherFlows: video stops while audio goes on for longer
// than the stall timeout. The audio keeps being recorded (no reconnect) and
// the silent video is a stall gap of the video track.
func TestTrackStallWhileOtherFlows(t *testing.T) {
	w := startWriter(t, "interview-10")
	tick := 0
	for ; tick < 100; tick++ {
		for _, u := range fmp4test.Units(tick, time.Now()) {
			w.queue <- u
		}
	}
	lastVideo := time.Now()
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); tick++ {
		for _, u := range fmp4test.Units(tick, time.Now()) {
			if u.Track == 1 {
				w.queue <- u
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, gaps, err := w.stop()
	if err != context.Canceled {
		t.Fatalf("record ended with %v while audio flowed, want it still recording", err)
	}
	if len(gaps) != 1 || gaps[0].Reason != catalog.GapStall || gaps[0].Track != "video" {
		t.Fatalf("gaps %+v, want one video stall", gaps)
	}
	if g := gaps[0]; g.Start.Sub(lastVideo) > 100*time.Millisecond || g.Duration() < 2*time.Second {
		t.Errorf("video stall from %s for %s, video stopped at %s", g.Start, g.Duration(), lastVideo)
	}
}
