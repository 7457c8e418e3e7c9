package dock

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// starveAfter: a camera with files ready and none of them copying for this
// long gets the next free copy, whatever its size (one such copy at a time).
const starveAfter = 2 * time.Minute

// queue holds the files ready to copy, by camera, and hands them to the
// dock's copy workers. The camera with the least left to copy goes first
// (ties: the earliest docked), so cameras finish one by one, each as early
// as it can, and a camera docked during a long offload is not stuck behind
// it; a camera passed over for starveAfter is served next. Within a camera,
// its oldest file goes first.
type queue struct {
	mu      sync.Mutex
	signal  chan struct{} // has a value when files may be waiting
	slots   map[string]*slotQueue
	waiting map[string]candidate // by path; a slot's entries not here were dropped
	copying map[string]bool
	aged    int // copies running for a camera that waited starveAfter
}

type slotQueue struct {
	files   []candidate // oldest first; those no longer waiting are skipped
	n       int         // files waiting
	bytes   int64       // of the files waiting
	busy    int         // copies running
	docked  time.Time
	waiting time.Time // since when files wait with none copying; zero: not so
}

func newQueue() *queue {
	return &queue{signal: make(chan struct{}, 1), slots: map[string]*slotQueue{},
		waiting: map[string]candidate{}, copying: map[string]bool{}}
}

// push adds a ready file unless it is already waiting or copying.
func (q *queue) push(c candidate, docked, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.waiting[c.path]; ok || q.copying[c.path] {
		return
	}
	q.waiting[c.path] = c
	s := q.slots[c.slot]
	if s == nil {
		s = &slotQueue{docked: docked}
		q.slots[c.slot] = s
	}
	if n := len(s.files); n == 0 || older(s.files[n-1], c) < 0 {
		s.files = append(s.files, c) // the scan pushes in order: no search, no move
	} else {
		i, _ := slices.BinarySearchFunc(s.files, c, older)
		s.files = slices.Insert(s.files, i, c)
	}
	s.n++
	s.bytes += c.info.Size()
	if s.busy == 0 && s.waiting.IsZero() {
		s.waiting = now
	}
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// live reports whether a slot's entry is still the one waiting for its path.
func (q *queue) live(c candidate) bool {
	w, ok := q.waiting[c.path]
	return ok && w.info == c.info
}

// older orders a camera's files: oldest first, then by path.
func older(a, b candidate) int {
	return cmp.Or(a.info.ModTime().Compare(b.info.ModTime()), cmp.Compare(a.path, b.path))
}

// drop forgets a waiting file that left the camera (whose size was size);
// take skips its entry later, so a camera unplugged with ten thousand files
// waiting costs ten thousand map deletions, not a search each.
func (q *queue) drop(slot, path string, size int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.slots[slot]
	if _, ok := q.waiting[path]; !ok || s == nil {
		return
	}
	delete(q.waiting, path)
	s.n--
	s.bytes -= size
	q.tidy(slot, s)
}

// has reports whether path is waiting or copying.
func (q *queue) has(path string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.waiting[path]
	return ok || q.copying[path]
}

// take hands out the next file, or false when none waits. aged says the
// copy was given to a camera passed over for starveAfter; pass it to done.
func (q *queue) take(now time.Time) (c candidate, aged, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var best *slotQueue
	var bestName string
	for name, s := range q.slots {
		if s.n == 0 {
			continue
		}
		if q.aged == 0 && !s.waiting.IsZero() && now.Sub(s.waiting) >= starveAfter {
			if !aged || s.waiting.Before(best.waiting) {
				best, bestName, aged = s, name, true
			}
			continue
		}
		if !aged && (best == nil || s.before(name, best, bestName)) {
			best, bestName = s, name
		}
	}
	if best == nil {
		return candidate{}, false, false
	}
	for c = best.files[0]; !q.live(c); c = best.files[0] {
		best.files = best.files[1:] // dropped while it waited
	}
	best.files = best.files[1:]
	delete(q.waiting, c.path)
	q.copying[c.path] = true
	best.n--
	best.bytes -= c.info.Size()
	best.busy++
	best.waiting = time.Time{}
	if aged {
		q.aged++
	}
	if best.n > 0 {
		select {
		case q.signal <- struct{}{}:
		default:
		}
	}
	return c, aged, true
}

// before orders cameras: least left to copy, then earliest docked, then name.
func (s *slotQueue) before(name string, o *slotQueue, oname string) bool {
	return cmp.Or(cmp.Compare(s.bytes, o.bytes), s.docked.Compare(o.docked), cmp.Compare(name, oname)) < 0
}

// done ends a copy that take handed out.
func (q *queue) done(c candidate, aged bool, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.copying, c.path)
	if aged {
		q.aged--
	}
	s := q.slots[c.slot]
	if s == nil {
		return
	}
	s.busy--
	if s.busy == 0 && s.n > 0 {
		s.waiting = now
	}
	q.tidy(c.slot, s)
}

func (q *queue) tidy(name string, s *slotQueue) {
	if s.n == 0 && s.busy == 0 {
		delete(q.slots, name)
	}
}

// idle reports whether nothing waits or copies.
func (q *queue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting) == 0 && len(q.copying) == 0
}

// wait blocks until files may be waiting, poll has passed, or ctx is done.
func (q *queue) wait(ctx context.Context, poll time.Duration) bool {
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-q.signal:
	case <-t.C:
	}
	return true
}
