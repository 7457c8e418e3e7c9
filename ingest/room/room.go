// Package room records interview rooms' RTSP feeds: one supervisor per
// room that reconnects, records every hole as a gap, links segments to
// interview sessions and seals them into staging and the catalog.
package room

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"custodian/ingest"
	"custodian/storage/catalog"
)

// Room records one interview room's RTSP feed into segments, forever: it
// reconnects (every second through the first minute of an outage, then
// backing off up to a cap), records every hole as a gap, and seals each
// finished segment into staging and the catalog.
type Room struct {
	cfg     Config
	env     ingest.Env
	metrics *Metrics
	openDir string

	// abandoned is set by the writer when a segment was left in the open
	// directory after a write error; the next attempt recovers it first.
	abandoned bool
	// cuts asks the writer to end the running segment at an instant.
	cuts chan time.Time
	// pushes hands a pushing recorder from the Server to Run (push mode).
	pushes chan *publisher

	mu     sync.Mutex
	status Status
	gap    *catalog.Gap // the hole being recorded until the next segment starts
	pub    *publisher   // the recorder pushing to the room, from handover to its end
}

// Status is the live state of a room for the admin API.
type Status struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`              // redacted; empty for a room that listens
	Listen     string    `json:"listen,omitempty"` // where a pushing recorder sends the stream
	Connected  bool      `json:"connected"`
	Since      time.Time `json:"since,omitzero"`
	Segment    string    `json:"segment,omitempty"`
	Codecs     []string  `json:"codecs,omitempty"`
	Reconnects int       `json:"reconnects"`
	LastError  string    `json:"last_error,omitempty"`
	Sealed     int       `json:"sealed"`
	// NotRecordingSince is when the room last stopped recording (at start:
	// when it began to try); zero while a segment is open. The retry
	// schedule counts from it. NotRecordingReason says why (Reason*), from
	// the error that ended the last attempt.
	NotRecordingSince  time.Time `json:"not_recording_since,omitzero"`
	NotRecordingReason string    `json:"not_recording_reason,omitempty"`
	// AlertAfter is how long the room may go without recording before the
	// status alerts (rooms[].alert_after).
	AlertAfter time.Duration `json:"alert_after_ns,omitempty"`
}

// New builds the recorder of one room.
func New(cfg Config, env ingest.Env, m *Metrics) *Room {
	cfg.defaults()
	if env.Now == nil {
		env.Now = time.Now
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	r := &Room{cfg: cfg, env: env, metrics: m, openDir: filepath.Join(cfg.Dir, "open"),
		cuts: make(chan time.Time, 1), pushes: make(chan *publisher)}
	r.status = Status{ID: cfg.ID, AlertAfter: cfg.AlertAfter, NotRecordingSince: env.Now(), NotRecordingReason: ReasonConnecting}
	if cfg.Listen != "" {
		r.status.Listen, r.status.NotRecordingReason = cfg.Listen, ReasonWaiting
	} else {
		r.status.URL = Redacted(cfg.URL)
	}
	for _, reason := range []string{catalog.GapDisconnect, catalog.GapStall, catalog.GapClockStep,
		catalog.GapOverflow, catalog.GapWriteError, catalog.GapRestart, catalog.GapCrash, catalog.GapMedia} {
		m.Gaps.WithLabelValues(cfg.ID, reason)
	}
	m.Connected.WithLabelValues(cfg.ID).Set(0)
	m.Recording.WithLabelValues(cfg.ID).Set(0)
	m.Reconnects.WithLabelValues(cfg.ID)
	m.PacketsLost.WithLabelValues(cfg.ID)
	m.Overflow.WithLabelValues(cfg.ID)
	return r
}

// ID is the room id.
func (r *Room) ID() string { return r.cfg.ID }

// Status returns the live state; it never contains the URL's credentials.
func (r *Room) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	s.Codecs = append([]string(nil), s.Codecs...)
	return s
}

// Connected reports whether the feed is being recorded now.
func (r *Room) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status.Connected
}

// setStatus changes the live state and keeps what follows from it:
// the room records exactly while a segment is open.
func (r *Room) setStatus(fn func(*Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.status
	fn(s)
	recording := s.Segment != ""
	switch {
	case recording && !s.NotRecordingSince.IsZero():
		s.NotRecordingSince, s.NotRecordingReason = time.Time{}, ""
		r.metrics.Recording.WithLabelValues(r.cfg.ID).Set(1)
	case !recording && s.NotRecordingSince.IsZero():
		s.NotRecordingSince = r.env.Now()
		r.metrics.Recording.WithLabelValues(r.cfg.ID).Set(0)
	}
}

// downSince is when the room stopped recording; zero while it records.
func (r *Room) downSince() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status.NotRecordingSince
}

// Run records until ctx is done; it first seals what a crash left open.
func (r *Room) Run(ctx context.Context) error {
	if err := os.MkdirAll(r.openDir, 0o750); err != nil {
		return fmt.Errorf("room %s: %w", r.cfg.ID, err)
	}
	jobs := make(chan sealJob, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := range jobs {
			if j.done != nil {
				close(j.done)
				continue
			}
			r.seal(j)
		}
	}()
	defer func() {
		close(jobs)
		wg.Wait()
	}()

	lastEnd, reason := r.recoverOpen(jobs)
	if lastEnd.IsZero() {
		lastEnd, reason = r.lastRecorded(), catalog.GapRestart
	}
	if !lastEnd.IsZero() {
		r.gap = &catalog.Gap{Room: r.cfg.ID, Start: lastEnd, Reason: reason}
	}

	if r.cfg.Listen != "" {
		return r.listen(ctx, jobs)
	}
	for {
		err := r.connect(ctx, jobs)
		if ctx.Err() != nil {
			return nil
		}
		msg := Redact(err.Error(), r.cfg.URL)
		r.metrics.Reconnects.WithLabelValues(r.cfg.ID).Inc()
		reason := downReason(err)
		r.setStatus(func(s *Status) { s.Reconnects++; s.LastError, s.NotRecordingReason = msg, reason })
		age := r.env.Now().Sub(r.downSince())
		wait := jittered(retryWait(age, r.cfg), age, r.cfg)
		r.env.Log.Warn("room feed lost", keyRoom, r.cfg.ID, keyReason, reason, keyErr, msg, keyRetryIn, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		r.afterWriteError(err, jobs)
	}
}

// listen records, in push mode, every recorder that pushes to the room, one
// after the other; between them the room waits, not recording.
func (r *Room) listen(ctx context.Context, jobs chan sealJob) error {
	for {
		err := r.accept(ctx, jobs)
		if ctx.Err() != nil {
			return nil
		}
		msg := err.Error() // the credentials never reach an error
		r.metrics.Reconnects.WithLabelValues(r.cfg.ID).Inc()
		r.setStatus(func(s *Status) { s.Reconnects++; s.LastError, s.NotRecordingReason = msg, ReasonWaiting })
		r.env.Log.Warn("room recorder left", keyRoom, r.cfg.ID, keyErr, msg)
		r.afterWriteError(err, jobs)
	}
}

// afterWriteError seals, after a write error, what the failed writes
// left (a disk that was full may have room again), once every queued
// segment is sealed.
func (r *Room) afterWriteError(err error, jobs chan sealJob) {
	if !r.abandoned && !isWriteError(err) {
		return
	}
	done := make(chan struct{})
	jobs <- sealJob{done: done}
	<-done
	r.recoverOpen(jobs)
	r.abandoned = false
}

// lastRecorded is the end of the newest segment of this room in the
// catalog. Segments follow one another, so the one that started last ends last.
func (r *Room) lastRecorded() time.Time {
	last, ok, err := r.env.Catalog.LastInRoom(r.cfg.ID)
	if err != nil {
		r.env.Log.Warn("cannot read the room's last segment", keyRoom, r.cfg.ID, keyErr, err)
		return time.Time{}
	}
	if !ok {
		return time.Time{}
	}
	return last.EndedAt
}

// Cut ends the running segment at the instant at: its audio exactly there,
// its video at the next keyframe (within a GOP), so that an interview
// session starting or stopping then begins or ends a segment and no
// segment holds two interviews. A room not recording has nothing to cut.
func (r *Room) Cut(at time.Time) {
	select {
	case r.cuts <- at:
	default: // a cut is pending already
	}
}
