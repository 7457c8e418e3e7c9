package room

import (
	"testing"
	"time"
)

// TestRetryWait: every second through the first minute of an outage, so
// recording resumes at most about a second after the camera is back; after
// that a quarter of the time past the first minute, capped.
func TestRetryWait(t *testing.T) {
	var cfg Config
	cfg.defaults()
	for _, tc := range []struct {
		age, want time.Duration
	}{
		{0, time.Second},
		{15 * time.Second, time.Second},
		{59 * time.Second, time.Second},
		{60 * time.Second, time.Second},
		{64 * time.Second, time.Second},
		{80 * time.Second, 5 * time.Second},
		{2 * time.Minute, 15 * time.Second},
		{3 * time.Minute, 30 * time.Second},
		{time.Hour, 30 * time.Second},
		{-time.Second, time.Second}, // the station clock stepped back
	} {
		if got := retryWait(tc.age, cfg); got != tc.want {
			t.Errorf("retryWait(%s) = %s, want %s", tc.age, got, tc.want)
		}
	}
	if cfg.FastRetry != time.Minute {
		t.Errorf("default FastRetry %s, want 1m", cfg.FastRetry)
	}
}

// TestRetryJitter spreads waits past the first minute over their last
// quarter and leaves the fast retries exact.
func TestRetryJitter(t *testing.T) {
	var cfg Config
	cfg.defaults()
	for range 200 {
		if got := jittered(time.Second, 30*time.Second, cfg); got != time.Second {
			t.Fatalf("a fast retry jittered to %s", got)
		}
		if got := jittered(20*time.Second, 2*time.Minute, cfg); got < 15*time.Second || got > 20*time.Second {
			t.Fatalf("jittered(20s) = %s, want 15-20s", got)
		}
	}
}

// TestRoomResumesWithinASecond: with the default schedule, a 5 s camera
// outage delays recording by at most about a second (plus the wait for the
// camera's next keyframe, one per second here). The old doubling backoff
// waited up to 4 s here.
func TestRoomResumesWithinASecond(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5 s outage")
	}
	cam := newCamera(t, "", "")
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-8", cam.url())
	cfg.BackoffMin, cfg.BackoffMax = 0, 0 // the defaults
	r := New(cfg, e.Env, nil)
	runRoom(t, r)
	recording := func() bool { return r.Status().Segment != "" }
	waitFor(t, "recording", 10*time.Second, recording)
	cam.close()
	waitFor(t, "outage noticed", 10*time.Second, func() bool { return !recording() })
	time.Sleep(5 * time.Second)
	cam.start()
	back := time.Now()
	waitFor(t, "connected again", 10*time.Second, r.Connected)
	connected := time.Since(back)
	waitFor(t, "recording again", 10*time.Second, recording)
	resumed := time.Since(back)
	t.Logf("camera back; connected after %s, recording after %s", connected, resumed)
	if connected > 1500*time.Millisecond || resumed > 2500*time.Millisecond {
		t.Errorf("connected %s and recording %s after the camera came back, want at most 1.5 s and 2.5 s", connected, resumed)
	}
}
