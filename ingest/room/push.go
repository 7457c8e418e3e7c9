package room

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"

	"custodian/ingest/fmp4"
)

// publisher is a recorder pushing to a room: its tracks, the queue its
// packets' units go to, and the end of its session.
type publisher struct {
	room     *Room
	session  *gortsplib.ServerSession
	remote   string // ip:port
	tracks   []*rtpTrack
	queue    chan fmp4.Unit
	overflow atomic.Uint64
	done     chan error // the session's end, sent once
}

func newPublisher(r *Room, ss *gortsplib.ServerSession, remote string, tracks []*rtpTrack) *publisher {
	return &publisher{room: r, session: ss, remote: remote, tracks: tracks,
		queue: make(chan fmp4.Unit, r.cfg.QueueSize), done: make(chan error, 1)}
}

// take hands p to the room's recorder loop, unless another recorder
// pushes to the room or the loop does not take it within handoffWait.
func (r *Room) take(p *publisher) bool {
	r.mu.Lock()
	if r.pub != nil {
		r.mu.Unlock()
		return false
	}
	r.pub = p
	r.mu.Unlock()
	t := time.NewTimer(handoffWait)
	defer t.Stop()
	select {
	case r.pushes <- p:
		return true
	case <-t.C:
		r.mu.Lock()
		r.pub = nil
		r.mu.Unlock()
		return false
	}
}

// pushing reports whether a recorder pushes to the room now.
func (r *Room) pushing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pub != nil
}

// refused notes a recorder the server turned away: while the room does not
// record, its status says why, so that the alert names the cause.
func (r *Room) refused(remote, reason, msg string) {
	r.env.Log.Warn("rtsp push refused", keyRoom, r.cfg.ID, keyRemote, remote, keyReason, reason)
	r.setStatus(func(s *Status) {
		if !s.Connected {
			s.NotRecordingReason, s.LastError = reason, msg
		}
	})
}

// accept waits for the room's recorder to push, then records it until it
// stops, stalls or ctx is done.
func (r *Room) accept(ctx context.Context, jobs chan<- sealJob) error {
	var p *publisher
	select {
	case <-ctx.Done():
		return nil
	case p = <-r.pushes:
	}
	waited := false
	defer func() {
		p.session.Close()
		if !waited {
			<-p.done
		}
		r.mu.Lock()
		r.pub = nil
		r.mu.Unlock()
	}()
	return r.capture(ctx, p.tracks, p.queue, &p.overflow, p.done, &waited, jobs,
		keyListen, r.cfg.Listen, keyRemote, p.remote)
}
