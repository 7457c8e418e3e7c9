package clock

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"custodian/internal/testlog"
)

var (
	synced   = Sync{Known: true, Synchronised: true, MaxError: 50 * time.Millisecond}
	unsynced = Sync{Known: true, MaxError: 16 * time.Second}
	loose    = Sync{Known: true, Synchronised: true, MaxError: 8 * time.Second}
	unknown  = Sync{}
)

// sample is one check: how far the wall and the monotonic clock moved since
// the one before, what the kernel says, and what the monitor must conclude.
type sample struct {
	wall, mono time.Duration
	sync       Sync
	err        error
	trusted    bool
	reason     string // a part of the reason; "" when trusted
}

// fakeClock is a wall clock that can be set, a monotonic clock that cannot,
// and a kernel that says what the current sample wants.
type fakeClock struct {
	wall time.Time
	mono time.Duration
	cur  sample
}

func (f *fakeClock) config(ignoreSync bool) Config {
	return Config{
		IgnoreSync: ignoreSync,
		Now:        func() time.Time { return f.wall },
		Monotonic:  func() time.Duration { return f.mono },
		Read:       func() (Sync, error) { return f.cur.sync, f.cur.err },
	}
}

var start = time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)

func TestTrust(t *testing.T) {
	const i = 30 * time.Second // an ordinary interval
	tests := []struct {
		name       string
		ignoreSync bool
		samples    []sample
		back, fwd  int
	}{
		{name: "synchronised", samples: []sample{{sync: synced, trusted: true}, {wall: i, mono: i, sync: synced, trusted: true}}},
		{name: "unsynchronised", samples: []sample{{sync: unsynced, reason: "the kernel reports the clock unsynchronised"},
			{wall: i, mono: i, sync: synced, trusted: true}}},
		{name: "error bound too large", samples: []sample{{sync: loose, reason: "the clock's error may be up to 8s, more than the 5s allowed"}}},
		{name: "unreadable", samples: []sample{{err: errors.New("adjtimex: operation not permitted"),
			reason: "the clock's synchronisation cannot be read: adjtimex: operation not permitted"}}},
		{name: "system does not say", samples: []sample{{sync: unknown, trusted: true}}},
		{name: "step back, synchronised on the next check", back: 1, samples: []sample{
			{sync: synced, trusted: true},
			{wall: i - time.Hour, mono: i, sync: synced, reason: "the clock stepped back 1h0m0s at 2026-11-21T07:30:30Z"},
			{wall: i, mono: i, sync: synced, trusted: true},
		}},
		{name: "step back, then unsynchronised", back: 1, samples: []sample{
			{sync: synced, trusted: true},
			{wall: -3 * time.Second, mono: i, sync: synced, reason: "stepped back 33s"},
			{wall: i, mono: i, sync: unsynced, reason: "running?); the clock stepped back 33s"},
			{wall: i, mono: i, sync: loose, reason: "stepped back 33s"},
			{wall: i, mono: i, sync: synced, trusted: true},
		}},
		{name: "years ahead", fwd: 1, samples: []sample{
			{sync: synced, trusted: true},
			{wall: 3 * 365 * 24 * time.Hour, mono: i, sync: unsynced, reason: "stepped forward 26279h59m30s"},
			{wall: i, mono: i, sync: unsynced, reason: "stepped forward"},
		}},
		{name: "a leap second is no step", samples: []sample{
			{sync: synced, trusted: true},
			{wall: i - time.Second, mono: i, sync: synced, trusted: true},
		}},
		{name: "a suspend looks like a step forward", fwd: 1, samples: []sample{
			{sync: synced, trusted: true},
			{wall: 8 * time.Hour, mono: i, sync: synced, reason: "stepped forward"},
			{wall: i, mono: i, sync: synced, trusted: true},
		}},
		{name: "without sync, steps alone", ignoreSync: true, back: 1, samples: []sample{
			{sync: unsynced, trusted: true},
			{wall: -time.Minute, mono: i, sync: unsynced, reason: "stepped back 1m30s"},
			{wall: i, mono: i, sync: unsynced, trusted: true},
		}},
		{name: "system does not say, steps alone", back: 1, samples: []sample{
			{sync: unknown, trusted: true},
			{wall: -time.Minute, mono: i, sync: unknown, reason: "stepped back"},
			{wall: i, mono: i, sync: unknown, trusted: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeClock{wall: start}
			m := New(f.config(tc.ignoreSync))
			if ok, why := m.Trusted(); ok || why == "" {
				t.Fatalf("trusted before any check: %v %q", ok, why)
			}
			var s State
			for n, smp := range tc.samples {
				f.wall, f.mono, f.cur = f.wall.Add(smp.wall), f.mono+smp.mono, smp
				s = m.Check()
				ok, why := m.Trusted()
				if ok != smp.trusted || ok != s.Trusted || why != s.Reason {
					t.Fatalf("sample %d: trusted %v (%q), want %v", n, ok, why, smp.trusted)
				}
				if ok && why != "" || !ok && !strings.Contains(why, smp.reason) {
					t.Fatalf("sample %d: reason %q, want it to contain %q", n, why, smp.reason)
				}
			}
			if s.StepsBack != tc.back || s.StepsForward != tc.fwd {
				t.Fatalf("steps back %d forward %d, want %d and %d", s.StepsBack, s.StepsForward, tc.back, tc.fwd)
			}
		})
	}
}

// The real clock: Go's time.Now carries a monotonic reading, which must not
// hide a step; nothing steps here, and the system's answer is whatever it is.
func TestRealClockNoStep(t *testing.T) {
	m := New(Config{})
	m.Check()
	time.Sleep(10 * time.Millisecond)
	s := m.Check()
	if s.StepsBack+s.StepsForward != 0 || s.Stepped {
		t.Fatalf("a step on a steady clock: %+v", s)
	}
	t.Logf("this host: %+v", s)
}

// Run checks at once and every Interval; the first check, each step and
// each change of trust are logged once.
func TestRunLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, buf := testlog.New()
		var reads atomic.Int32
		var stepAt atomic.Int32
		stepAt.Store(-1)
		start := time.Now()
		m := New(Config{Interval: time.Minute, Log: log,
			Now: func() time.Time {
				if n := stepAt.Load(); n >= 0 && reads.Load() >= n {
					return time.Now().Add(-time.Hour)
				}
				return time.Now()
			},
			Monotonic: func() time.Duration { return time.Since(start) },
			Read:      func() (Sync, error) { reads.Add(1); return synced, nil },
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		time.Sleep(90 * time.Second) // checks at 0 and 1 min
		stepAt.Store(reads.Load())
		time.Sleep(2 * time.Minute) // at 2 min the step, at 3 min trusted again
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := reads.Load(); n != 4 {
			t.Fatalf("%d checks in 3.5 minutes, want 4", n)
		}
		out := buf.String()
		for _, want := range []string{"station clock trusted", "station clock stepped", "step=\"back 1h0m0s\"",
			"station clock not trusted", "station clock trusted again"} {
			if strings.Count(out, want) < 1 {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
		}
		if n := strings.Count(out, "level="); n != 4 {
			t.Errorf("%d log lines, want 4:\n%s", n, out)
		}
	})
}
