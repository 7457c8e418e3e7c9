package upload

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// outcome is what one upload reports back to Run.
type outcome struct {
	id  uint64
	err error
	// storeWide: the failure says nothing about this record (the archive is
	// down or refuses us), so every upload pauses, not just this one.
	storeWide bool
	permanent bool
}

// schedule is what Run knows between rounds: the uploads in flight, and
// who waits until when after a failure.
type schedule struct {
	inflight      map[uint64]string // id -> object key
	retryAt       map[uint64]time.Time
	failures      map[uint64]int
	pauseUntil    time.Time
	storeFailures int
	// probing: the archive failed as a whole; one upload at a time tests it
	// until one succeeds.
	probing   bool
	lastCheck time.Time
	// While paused, the archive is asked cheaply (a HEAD of the bucket)
	// every probeEvery; its answer ends the pause at once.
	probes    chan error
	probeBusy bool
	lastProbe time.Time
	// unanswered: the last probe failed (said once in the log).
	unanswered bool
}

// probeEvery is how often the uploader asks the archive whether it
// answers, while uploads are paused (an outage then costs about this much
// more than itself, however long the pause has grown) and while uploads
// are in flight (a frozen archive, whose connections stay open, shows
// within probeEvery+probeTimeout, not when each upload's deadline ends).
// probeTimeout is how long a HEAD of the bucket may take.
const (
	probeEvery   = 5 * time.Second
	probeTimeout = 5 * time.Second
)

// Run uploads until ctx ends, then waits for the uploads in flight: they
// stop between requests and stay resumable.
func (u *Uploader) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	done := make(chan outcome, u.cfg.MaxUploads)
	start := func(r catalog.Recording) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done <- u.upload(ctx, r)
		}()
	}
	s := &schedule{inflight: map[uint64]string{}, retryAt: map[uint64]time.Time{}, failures: map[uint64]int{},
		probes: make(chan error, 1)}

	// Say at once when the archive is unusable (credentials, bucket without
	// Object Lock), rather than at the first upload.
	u.check(ctx)
	s.lastCheck = u.cfg.Now()

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case o := <-done:
			u.settle(s, o)
		case err := <-s.probes:
			u.probed(s, err)
		case <-u.wake:
		case <-timer.C:
		}
		next := u.startDue(ctx, s, start)
		timer.Reset(max(next, time.Millisecond))
	}
}

// settle takes back one finished upload: a success ends every backoff of
// the archive as a whole; a failure of the archive pauses every upload; any
// other failure delays only this record.
func (u *Uploader) settle(s *schedule, o outcome) {
	delete(s.inflight, o.id)
	now := u.cfg.Now()
	if o.err == nil {
		delete(s.retryAt, o.id)
		delete(s.failures, o.id)
		s.storeFailures = 0
		s.pauseUntil = time.Time{}
		s.probing = false
		u.m.Reachable.Set(1)
		return
	}
	if o.storeWide {
		s.probing = true
		u.m.Reachable.Set(0)
		if now.Before(s.pauseUntil) {
			return // another upload of the same round; already paused
		}
		s.storeFailures++
		s.pauseUntil = now.Add(u.backoff(s.storeFailures, o.permanent))
		u.log.Warn("archive unavailable; uploads paused", keyErr, o.err, keyRetryIn, s.pauseUntil.Sub(now).Round(time.Second))
		return
	}
	s.failures[o.id]++
	s.retryAt[o.id] = now.Add(u.backoff(s.failures[o.id], o.permanent))
}

// startDue starts the queued uploads that are due, up to the limit, and
// returns how long Run may sleep before the next round.
func (u *Uploader) startDue(ctx context.Context, s *schedule, start func(catalog.Recording)) time.Duration {
	next := u.cfg.PollInterval
	now := u.cfg.Now()
	if now.Before(s.pauseUntil) {
		return min(next, s.pauseUntil.Sub(now), u.probe(ctx, s, now))
	}
	queue, err := u.queue()
	if err != nil {
		u.log.Error("archive queue", keyErr, err)
	} else {
		prune(s.retryAt, s.failures, queue)
	}
	limit := u.uploadsAtOnce()
	if s.probing {
		limit = 1
	}
	if len(s.inflight) > 0 {
		next = min(next, u.probe(ctx, s, now))
	}
	for _, r := range queue {
		if len(s.inflight) >= limit {
			break
		}
		key := ObjectKey(r)
		if _, busy := s.inflight[r.ID]; busy || keyBusy(s.inflight, key) {
			// The same content under the same key (one file docked
			// twice under two names): one upload, then the other
			// adopts its version.
			continue
		}
		if t, ok := s.retryAt[r.ID]; ok && now.Before(t) {
			next = min(next, t.Sub(now))
			continue
		}
		s.inflight[r.ID] = key
		start(r)
	}
	if len(s.inflight) == 0 && now.Sub(s.lastCheck) >= u.cfg.CheckInterval {
		s.lastCheck = now
		u.check(ctx)
	}
	return next
}

// probe asks the archive, in the background, whether it answers, every
// probeEvery with some jitter while uploads are paused or in flight. It
// returns how long until the next probe is due.
func (u *Uploader) probe(ctx context.Context, s *schedule, now time.Time) time.Duration {
	if s.probeBusy {
		return probeEvery // its answer wakes Run
	}
	if wait := s.lastProbe.Add(probeEvery).Sub(now); wait > 0 {
		return wait
	}
	s.probeBusy, s.lastProbe = true, now.Add(rand.N(probeEvery/5))
	go func() {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		s.probes <- u.store.Check(ctx)
	}()
	return probeEvery
}

// probed takes a probe's answer: an archive that answers ends the pause,
// and every recording waits no longer than its next round.
func (u *Uploader) probed(s *schedule, err error) {
	s.probeBusy = false
	if err != nil {
		if !s.unanswered && s.pauseUntil.IsZero() {
			u.log.Warn("archive does not answer; uploads in flight wait for it", keyErr, err, keyKind, archive.KindOf(err))
		}
		s.unanswered = true
		u.m.Reachable.Set(0)
		return
	}
	u.m.Reachable.Set(1)
	if s.pauseUntil.IsZero() && !s.unanswered {
		return // a check while uploads flow: nothing waits on it
	}
	s.unanswered = false
	if !s.pauseUntil.IsZero() {
		u.log.Info("archive answers again; uploads resume")
	}
	s.pauseUntil, s.storeFailures = time.Time{}, 0
	clear(s.retryAt)
}

func keyBusy(inflight map[uint64]string, key string) bool {
	for _, k := range inflight {
		if k == key {
			return true
		}
	}
	return false
}

// prune forgets the backoff of records that left the queue (archived,
// corrupt, missing).
func prune(retryAt map[uint64]time.Time, failures map[uint64]int, queue []catalog.Recording) {
	if len(retryAt) == 0 {
		return
	}
	queued := make(map[uint64]bool, len(queue))
	for _, r := range queue {
		queued[r.ID] = true
	}
	for id := range retryAt {
		if !queued[id] {
			delete(retryAt, id)
			delete(failures, id)
		}
	}
}

// check proves the archive reachable while there is nothing to upload.
func (u *Uploader) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := u.store.Check(ctx); err != nil {
		u.m.Reachable.Set(0)
		if ctx.Err() == nil {
			level := slog.LevelWarn
			if archive.KindOf(err).Permanent() {
				level = slog.LevelError
			}
			u.log.Log(ctx, level, "archive check failed", keyErr, err, keyKind, archive.KindOf(err))
		}
		return
	}
	u.m.Reachable.Set(1)
}

// queue is every verified record, the longest waiting first, and it sets
// the backlog gauges.
func (u *Uploader) queue() ([]catalog.Recording, error) {
	recs, err := u.cat.List(catalog.Filter{State: catalog.StateVerified})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b catalog.Recording) int {
		if c := waitingSince(a).Compare(waitingSince(b)); c != 0 {
			return c
		}
		return int(a.ID) - int(b.ID)
	})
	var bytes int64
	for _, r := range recs {
		bytes += r.Size
	}
	u.m.Backlog.Set(float64(len(recs)))
	u.m.BacklogBytes.Set(float64(bytes))
	age := 0.0
	if len(recs) > 0 {
		age = max(0, u.cfg.Now().Sub(waitingSince(recs[0])).Seconds())
	}
	u.m.OldestAge.Set(age)
	return recs, nil
}

// waitingSince is when a record joined the queue; camera clocks are not
// trusted for this.
func waitingSince(r catalog.Recording) time.Time {
	if !r.VerifiedAt.IsZero() {
		return r.VerifiedAt
	}
	return r.ReceivedAt
}
