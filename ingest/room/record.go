package room

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"custodian/ingest"
	"custodian/ingest/fmp4"
	"custodian/storage/catalog"
)

// record is the writer loop: all file I/O of the room happens here.
func (r *Room) record(ctx context.Context, seg *fmp4.Segmenter, queue <-chan fmp4.Unit, overflow *atomic.Uint64,
	waitc <-chan error, waited *bool, jobs chan<- sealJob) error {
	tick := time.NewTicker(r.cfg.Fragment / 2)
	defer tick.Stop()
	var seenOverflow uint64
	var prev time.Time
	lastUnit := r.env.Now()
	live := newLiveness(seg.Tracks(), time.Now())
	defer func() {
		// A track still silent when the recording stops was stalled to the end.
		for _, g := range r.stalledGaps(live, seg.Last()) {
			jobs <- sealJob{gap: g}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-waitc:
			*waited = true
			if err == nil {
				err = errors.New("stream closed")
			}
			return fmt.Errorf("stream: %w", err)
		case at := <-r.cuts:
			seg.CutNext(at)
		case now := <-tick.C:
			if err := seg.Tick(r.env.Now()); err != nil {
				return err
			}
			if now.Sub(lastUnit) > r.cfg.StallTimeout {
				return fmt.Errorf("%w for %s", errStall, r.cfg.StallTimeout)
			}
			for _, i := range live.silent(now, r.cfg.StallTimeout) {
				r.env.Log.Warn("room track stalled while the other flows", keyRoom, r.cfg.ID,
					keyTrack, trackKind(seg.Tracks()[i].Video()), keyDuration, r.cfg.StallTimeout)
			}
		case u := <-queue:
			lastUnit = time.Now()
			live.seen(u.Track, lastUnit, u.At)
			if !prev.IsZero() {
				if step := clockStep(prev, u.At); step != 0 {
					return fmt.Errorf("%w by %s", errClockStep, step)
				}
			}
			prev = u.At
			if n := overflow.Load(); n != seenOverflow {
				r.env.Log.Warn("room writer fell behind; units dropped", keyRoom, r.cfg.ID, keyDropped, n-seenOverflow)
				seenOverflow = n
				r.closeSegment(seg, catalog.GapOverflow, jobs)
			}
			if err := r.push(seg, u, jobs); err != nil {
				return err
			}
		}
	}
}

// push writes one unit; a hole in its track closes the segment and is a gap.
func (r *Room) push(seg *fmp4.Segmenter, u fmp4.Unit, jobs chan<- sealJob) error {
	wasOpen := seg.Writing()
	closed, err := seg.Push(u)
	if closed != nil {
		jobs <- sealJob{seg: closed}
	}
	for _, h := range seg.TakeHoles() {
		jobs <- sealJob{gap: r.holeGap(h)}
	}
	if err != nil && !errors.Is(err, fmp4.ErrNotReady) {
		if isWriteError(err) {
			return err
		}
		r.metrics.DecodeErrors.WithLabelValues(r.cfg.ID).Inc()
		r.env.Log.Debug("room unit dropped", keyRoom, r.cfg.ID, keyErr, err)
	}
	if seg.Writing() && (!wasOpen || closed != nil) {
		r.segmentStarted(seg, jobs)
	}
	return nil
}

// clockStep returns how far the wall clock jumped between a and b beyond the
// monotonic clock's measure, or 0 when it did not.
func clockStep(a, b time.Time) time.Duration {
	mono := b.Sub(a)
	wall := b.Round(0).Sub(a.Round(0))
	if d := wall - mono; d > clockStepLimit || d < -clockStepLimit {
		return d
	}
	return 0
}

func (r *Room) segmentStarted(seg *fmp4.Segmenter, jobs chan<- sealJob) {
	cur := seg.Current()
	r.setStatus(func(s *Status) { s.Segment = cur.Name })
	r.env.Log.Info("room segment opened", keyRoom, r.cfg.ID, keySegment, cur.Name)
	r.mu.Lock()
	g := r.gap
	r.gap = nil
	r.mu.Unlock()
	if g != nil {
		g.End = cur.Start
		if g.End.Before(g.Start) {
			g.End = g.Start // the station clock stepped back
		}
		jobs <- sealJob{gap: g}
	}
}

// closeSegment closes the open segment, queues it for sealing, and starts a
// gap with the given reason at its end.
func (r *Room) closeSegment(seg *fmp4.Segmenter, reason string, jobs chan<- sealJob) {
	wasOpen := seg.Writing() || seg.Broken()
	if seg.Broken() {
		r.abandoned = true
	}
	end := seg.Last()
	closed, err := seg.Close()
	if err != nil {
		r.abandoned = true
		r.env.Log.Error("room segment could not be closed; it stays for recovery", keyRoom, r.cfg.ID, keyErr, err)
		r.countError(ingest.ErrKindStage)
		reason = catalog.GapWriteError
	}
	if closed != nil {
		jobs <- sealJob{seg: closed}
		end = closed.End
	}
	if !wasOpen {
		return
	}
	r.mu.Lock()
	if r.gap == nil {
		r.gap = &catalog.Gap{Room: r.cfg.ID, Start: end, Reason: reason}
	}
	r.mu.Unlock()
}

func isWriteError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}
