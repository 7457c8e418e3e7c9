package dock

import (
	"context"
	"maps"
	"sync"
	"time"
)

// Slot states.
const (
	SlotOffloading = "offloading" // files left to copy or release
	SlotDone       = "done"       // every file released (or catalogued, when kept): safe to undock
)

// pollPaused is how often an idle worker looks again while the dock is
// paused or nothing signals.
const pollPaused = time.Second

// work copies files from the queue until ctx is done.
func (d *Dock) work(ctx context.Context) {
	for {
		if !d.next(ctx) && !d.queue.wait(ctx, pollPaused) {
			return
		}
	}
}

// next copies one file from the queue; false when none was taken.
func (d *Dock) next(ctx context.Context) bool {
	if ctx.Err() != nil || (d.env.Paused != nil && d.env.Paused()) {
		return false
	}
	// Copies bounds the camera files being read; a copy gives its turn
	// back once its source is read, and is verified and recorded beside
	// the next one.
	select {
	case d.reads <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	read := sync.OnceFunc(func() { <-d.reads })
	defer read()
	c, aged, ok := d.queue.take(d.env.Now())
	if !ok {
		return false
	}
	d.ingest(ctx, c, read)
	d.queue.done(c, aged, d.env.Now())
	if d.queue.idle() {
		select { // files may have arrived while copying
		case d.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// workers is how many copies may be under way: copies reading their
// camera file, as many again being verified and recorded.
func workers(copies int) int { return 2 * copies }

// drain copies everything queued with Copies workers and returns when the
// queue is empty: Scan's synchronous pass.
func (d *Dock) drain(ctx context.Context) {
	var wg sync.WaitGroup
	for range workers(d.cfg.Copies) {
		wg.Go(func() {
			for d.next(ctx) {
			}
		})
	}
	wg.Wait()
	d.flushReleases()
}

// dockedSince is when the camera in slot was first seen docked.
func (d *Dock) dockedSince(slot string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.slots[slot]; s != nil {
		return s.DockedSince
	}
	return d.env.Now()
}

// carry keeps what a slot's status learnt over earlier walks.
func (s *SlotStatus) carry(old *SlotStatus) {
	s.DockedSince, s.LastOffload, s.DoneFiles, s.DoneBytes, s.LastError, s.Device =
		old.DockedSince, old.LastOffload, old.DoneFiles, old.DoneBytes, old.LastError, old.Device
	s.OffloadStarted, s.Unregistered = old.OffloadStarted, old.Unregistered
	s.ClockOffset, s.ClockBasis, s.ClockSuspect = old.ClockOffset, old.ClockBasis, old.ClockSuspect
}

// snapshot is a copy for the admin surface with its state and, once a
// file has been copied, the time its remaining bytes take at its rate.
func (s *SlotStatus) snapshot(now time.Time) SlotStatus {
	out := *s
	out.Left = maps.Clone(s.Left)
	out.State = SlotOffloading
	if s.PendingFiles == 0 {
		out.State = SlotDone
	}
	if took := now.Sub(s.OffloadStarted); s.DoneBytes > 0 && s.PendingBytes > 0 && took > 0 {
		out.ETA = time.Duration(float64(took) * float64(s.PendingBytes) / float64(s.DoneBytes)).Round(time.Second)
	}
	return out
}

// copying notes that a copy of c starts.
func (d *Dock) copying(c candidate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.slots[c.slot]; s != nil && s.OffloadStarted.IsZero() {
		s.OffloadStarted = d.env.Now()
	}
}

// finished notes that c is off the camera's list: released, or catalogued
// on a dock that keeps files. The camera shows done when it was the last.
func (d *Dock) finished(c candidate, released bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.seen[c.path]; ok {
		f.released, f.kept = released, !released
		d.seen[c.path] = f
	}
	if s := d.slots[c.slot]; s != nil && s.PendingFiles > 0 {
		s.PendingFiles--
		s.PendingBytes = max(0, s.PendingBytes-c.info.Size())
		if !released {
			s.KeptFiles++
		}
	}
}

// gaugeValues are the dock's gauges as of its slots now.
type gaugeValues struct {
	cameras, pending int
	left             map[string]int
}

// gaugeValues reads them; d.mu is held.
func (d *Dock) gaugeValues() gaugeValues {
	g := gaugeValues{left: map[string]int{}}
	for name, st := range d.slots {
		if name != LooseSlot {
			g.cameras++
		}
		g.pending += st.PendingFiles
		for r, n := range st.Left {
			g.left[r] += n
		}
	}
	return g
}

// gauges sets the dock's metrics.
func (d *Dock) gauges(g gaugeValues) {
	m := d.env.Metrics
	if m == nil {
		return
	}
	m.Cameras.WithLabelValues(d.cfg.ID).Set(float64(g.cameras))
	m.Pending.WithLabelValues(d.cfg.ID).Set(float64(g.pending))
	for _, r := range []string{leftSymlink, leftSpecial, leftTooDeep, leftUnreadable, leftOutside} {
		m.Left.WithLabelValues(d.cfg.ID, r).Set(float64(g.left[r]))
	}
}
