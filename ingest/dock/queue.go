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
	mu     sync.Mutex
	signal chan struct{} // has a value when files may be waiting
	slots  map[string]*slotQueue
	queued map[string]bool // paths waiting or copying
	aged   int             // copies running for a camera that waited starveAfter
}

type slotQueue struct {
	files   []candidate // waiting, oldest first
	bytes   int64       // of files
	busy    int         // copies running
	docked  time.Time
	waiting time.Time // since when files wait with none copying; zero: not so
}

func newQueue() *queue {
	return &queue{signal: make(chan struct{}, 1), slots: map[string]*slotQueue{}, queued: map[string]bool{}}
}

// push adds a ready file unless it is already waiting or copying.
func (q *queue) push(c candidate, docked, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queued[c.path] {
		return
	}
	q.queued[c.path] = true
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
	s.bytes += c.info.Size()
	if s.busy == 0 && s.waiting.IsZero() {
		s.waiting = now
	}
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// older orders a camera's files: oldest first, then by path.
func older(a, b candidate) int {
	return cmp.Or(a.info.ModTime().Compare(b.info.ModTime()), cmp.Compare(a.path, b.path))
}

// drop forgets a waiting file that left the camera.
func (q *queue) drop(path string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for name, s := range q.slots {
		for i, c := range s.files {
			if c.path == path {
				s.files = slices.Delete(s.files, i, i+1)
				s.bytes -= c.info.Size()
				delete(q.queued, path)
				q.tidy(name, s)
				return
			}
		}
	}
}

// waiting reports whether path is waiting or copying.
func (q *queue) has(path string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued[path]
}

// take hands out the next file, or false when none waits. aged says the
// copy was given to a camera passed over for starveAfter; pass it to done.
func (q *queue) take(now time.Time) (c candidate, aged, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var best *slotQueue
	var bestName string
	for name, s := range q.slots {
		if len(s.files) == 0 {
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
	c = best.files[0]
	best.files = best.files[1:]
	best.bytes -= c.info.Size()
	best.busy++
	best.waiting = time.Time{}
	if aged {
		q.aged++
	}
	if len(best.files) > 0 {
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
	delete(q.queued, c.path)
	if aged {
		q.aged--
	}
	s := q.slots[c.slot]
	if s == nil {
		return
	}
	s.busy--
	if s.busy == 0 && len(s.files) > 0 {
		s.waiting = now
	}
	q.tidy(c.slot, s)
}

func (q *queue) tidy(name string, s *slotQueue) {
	if len(s.files) == 0 && s.busy == 0 {
		delete(q.slots, name)
	}
}

// idle reports whether nothing waits or copies.
func (q *queue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued) == 0
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
