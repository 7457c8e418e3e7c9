package room

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"
	"custodian/storage/catalog"
)

// TestOverflowBecomesGap drives the writer loop directly: units the RTP
// callback had to drop close the segment, and the hole is an overflow gap.
func TestOverflowBecomesGap(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-8", "rtsp://127.0.0.1:1/none")
	r := New(cfg, e.Env, nil)
	if err := os.MkdirAll(r.openDir, 0o750); err != nil {
		t.Fatal(err)
	}
	seg := fmp4.NewSegmenter(r.openDir, cfg.ID, time.Hour, time.Second, fmp4test.Tracks())
	queue := make(chan fmp4.Unit, 1000)
	jobs := make(chan sealJob, 100)
	var overflow atomic.Uint64
	waitc := make(chan error)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	waited := false
	go func() { done <- r.record(ctx, seg, queue, &overflow, waitc, &waited, jobs) }()

	// Units as the callback would queue them, timed by the real clock so
	// the monotonic clock-step check sees no step.
	send := func(from, to int) {
		for tick := from; tick < to; tick++ {
			for _, u := range fmp4test.Units(tick, time.Now()) {
				queue <- u
			}
		}
		for len(queue) > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	send(0, 60)
	overflow.Store(7) // the callback dropped seven units here
	send(60, 120)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("record: %v", err)
	}
	close(jobs)
	var segs, gaps []sealJob
	for j := range jobs {
		if j.gap != nil {
			gaps = append(gaps, j)
		} else {
			segs = append(segs, j)
		}
	}
	if len(gaps) != 1 || gaps[0].gap.Reason != catalog.GapOverflow || gaps[0].gap.End.Before(gaps[0].gap.Start) {
		t.Fatalf("gaps %+v, want one overflow gap", gaps)
	}
	if len(segs) != 1 || !seg.Writing() {
		t.Errorf("%d segments closed, open now %v: want the one before the overflow closed and a new one open", len(segs), seg.Writing())
	}
	seg.Abandon()
}
