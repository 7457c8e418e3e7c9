package catalog

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// group lets concurrent Adds share one transaction without delaying a lone
// one: an Add that finds nobody committing commits at once (it leads);
// Adds that arrive meanwhile wait, and when the leader's commit is done the
// first of them leads the next group, with everything that waits by then.
// A busy dock's records thus take one fsync per group instead of one each,
// and no caller commits for others longer than one group.
type group struct {
	mu      sync.Mutex
	waiting []*addCall
	leading bool
}

type addCall struct {
	r       Recording
	events  []Event
	rec     Recording
	created bool
	err     error
	done    chan struct{} // closed when committed (or failed)
	lead    chan struct{} // closed when this call is to commit the next group
}

// join queues an Add. Its lead channel is closed at once when nobody is
// committing.
func (g *group) join(a addCall) *addCall {
	call := &a
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
func (g *group) take() []*addCall {
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

// commitAdds commits a group in one transaction. If that transaction fails,
// each Add is tried alone, so that one bad record fails only itself.
func (c *Catalog) commitAdds(calls []*addCall) {
	defer c.adds.handOff()
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, call := range calls {
			var err error
			if call.rec, call.created, err = c.add(tx, call.r, call.events); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(calls) > 1 {
		for _, call := range calls {
			call.err = c.db.Update(func(tx *bolt.Tx) error {
				var err error
				call.rec, call.created, err = c.add(tx, call.r, call.events)
				return err
			})
		}
	} else {
		for _, call := range calls {
			call.err = err
		}
	}
	for _, call := range calls {
		close(call.done)
	}
}
