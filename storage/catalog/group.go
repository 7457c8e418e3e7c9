package catalog

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// group lets concurrent writes (Add, UpdateMany) share one transaction
// without delaying a lone one: a write that finds nobody committing commits
// at once (it leads); writes that arrive meanwhile wait, and when the
// leader's commit is done the first of them leads the next group, with
// everything that waits by then. A busy dock's records and releases thus
// take one fsync per group instead of one each, and no caller commits for
// others longer than one group.
type group struct {
	mu      sync.Mutex
	waiting []*call
	leading bool
}

// call is one write in a group. fn may run twice: alone again when the
// group's transaction failed; it must only set its own results.
type call struct {
	fn   func(*bolt.Tx) error
	err  error
	done chan struct{} // closed when committed (or failed)
	lead chan struct{} // closed when this call is to commit the next group
}

// write runs fn in a transaction shared with the writes waiting with it,
// and returns when that transaction is committed.
func (c *Catalog) write(fn func(*bolt.Tx) error) error {
	call := c.group.join(fn)
	select {
	case <-call.done: // committed in a group another call led
	case <-call.lead: // this call leads a group: commit everything waiting
		c.commit(c.group.take())
		<-call.done
	}
	return call.err
}

// join queues a write. Its lead channel is closed at once when nobody is
// committing.
func (g *group) join(fn func(*bolt.Tx) error) *call {
	call := &call{fn: fn}
	call.done = make(chan struct{})
	call.lead = make(chan struct{})
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting = append(g.waiting, call)
	if !g.leading {
		g.leading = true
		close(call.lead)
	}
	return call
}

// take hands the leader everything waiting.
func (g *group) take() []*call {
	g.mu.Lock()
	defer g.mu.Unlock()
	calls := g.waiting
	g.waiting = nil
	return calls
}

// handOff passes the lead to the first waiting call, or ends leading.
func (g *group) handOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		g.leading = false
		return
	}
	close(g.waiting[0].lead)
}

// commit commits a group in one transaction. If that transaction fails,
// each write is tried alone, so that one bad write fails only itself.
func (c *Catalog) commit(calls []*call) {
	defer c.group.handOff()
	err := update(c.db, func(tx *bolt.Tx) error {
		for _, call := range calls {
			if err := call.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	for _, call := range calls {
		call.err = err
		if err != nil && len(calls) > 1 {
			call.err = update(c.db, call.fn)
		}
		close(call.done)
	}
}
