package upload

import (
	"sync"
	"time"
)

// Progress is how far a long background check has got, for the status
// page and API: the daemon answers while it runs, and says what is still
// being checked. The zero value is a check not running.
type Progress struct {
	mu          sync.Mutex
	running     bool
	started     time.Time
	done, total int
}

// CheckState is a Progress as read at one moment.
type CheckState struct {
	Running     bool
	Started     time.Time
	Done, Total int
}

func (p *Progress) start(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running, p.started, p.done, p.total = true, time.Now(), 0, total
}

func (p *Progress) set(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
}

func (p *Progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = false
}

// State reads p; a nil p is a check not running.
func (p *Progress) State() CheckState {
	if p == nil {
		return CheckState{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return CheckState{Running: p.running, Started: p.started, Done: p.done, Total: p.total}
}
