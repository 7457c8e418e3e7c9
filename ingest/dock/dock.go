// Package dock watches docking stations: it finds the recordings on docked
// body cameras, waits for them to settle, copies each through the hash into
// staging and the catalog, and only then releases it from the camera.
package dock

import (
	"context"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"io/fs"

	"custodian/hardware/camera"
	"custodian/ingest"
)

// Defaults of Config.
const (
	DefaultSettle       = 5 * time.Second
	DefaultScanInterval = 15 * time.Second
	// DefaultCopies: a camera's USB link, not the server, bounds one copy;
	// four at once keep several links busy and amortise the fsyncs of
	// small files, at 1 MiB of buffer each.
	DefaultCopies = 4
	// DefaultMaxClockOffset is how far a camera's clock may be off before
	// its recordings are flagged.
	DefaultMaxClockOffset = 5 * time.Minute
	// DefaultMaxDepth bounds how deep below a dock custodian looks for
	// files: deeper than any camera layout seen (the deepest, 9 levels).
	DefaultMaxDepth = 32
	// maxRetryDelay caps the wait after a failed copy of one file.
	maxRetryDelay = 5 * time.Minute
	// fullRetry is the wait after staging had no room; the retry is cheap
	// (free space is checked before any byte is written).
	fullRetry = 15 * time.Second
)

// Config is one docking station.
type Config struct {
	ID                string
	Path              string
	Profile           *camera.Profile
	DeleteAfterIngest bool
	Settle            time.Duration
	ScanInterval      time.Duration
	// Copies bounds how many files of this dock are copied at once.
	Copies int
	// MaxClockOffset: a camera whose clock is found off by more than this
	// when it docks has its recordings flagged (see clock.go).
	MaxClockOffset time.Duration
	// MaxDepth: folders deeper below the dock are not entered; what they
	// hold is reported as left on the camera.
	MaxDepth int
}

// Dock watches one docking station. Each camera appears as a folder (a slot)
// below the dock path; files anywhere below a slot are its recordings.
type Dock struct {
	cfg Config
	env ingest.Env

	// source, when set, wraps each camera file as it is read: tests use
	// it to unplug a camera mid-copy.
	source func(*os.File) io.ReadSeeker

	reads    chan struct{} // a slot per camera file being read: Copies
	queue    *queue
	kick     chan struct{} // a copy finished and nothing else waits: rescan
	releases releases

	mu       sync.Mutex
	root     *camera.Root
	seen     map[string]seenFile   // path -> last observation
	retry    map[string]retryState // path -> when to try again
	slots    map[string]*SlotStatus
	reported map[string]bool      // entries already logged as skipped
	dockings map[string]*docking  // slot -> the camera docked there now
	emptied  map[string]time.Time // device -> when this dock last emptied it
	lastScan time.Time
	scanErr  string
	resumed  bool
}

type seenFile struct {
	slot        string
	size        int64
	mtime       time.Time
	info        fs.FileInfo
	stableSince time.Time
	kept        bool // catalogued, and this dock keeps files on the camera
	released    bool // this dock deleted it from the camera
}

type retryState struct {
	at       time.Time
	failures int
}

// SlotStatus is what the admin page shows of one docked camera. State is
// SlotDone the moment its last file is released (or, on a dock that keeps
// files, catalogued): the camera may be undocked.
type SlotStatus struct {
	Slot           string        `json:"slot"`
	Device         string        `json:"device,omitempty"`
	State          string        `json:"state"`
	DockedSince    time.Time     `json:"docked_since"`
	PendingFiles   int           `json:"pending_files"`
	PendingBytes   int64         `json:"pending_bytes"`
	DoneFiles      int           `json:"done_files"`
	DoneBytes      int64         `json:"done_bytes"`
	KeptFiles      int           `json:"kept_files,omitempty"`
	OffloadStarted time.Time     `json:"offload_started,omitzero"`
	ETA            time.Duration `json:"eta_ns,omitempty"`
	LastOffload    time.Time     `json:"last_offload,omitzero"`
	LastError      string        `json:"last_error,omitempty"`
	// Left counts, by reason, entries that stay on the camera unread:
	// links, special files, folders below max_depth, unreadable folders.
	Left map[string]int `json:"left,omitempty"`
	// Unregistered is the device of a recording from this camera that the
	// devices table does not know.
	Unregistered string `json:"unregistered,omitempty"`
	// The camera's clock as measured when it docked: see clockEstimate.
	ClockOffset  time.Duration `json:"clock_offset_ns,omitempty"`
	ClockBasis   string        `json:"clock_basis,omitempty"`
	ClockSuspect bool          `json:"clock_suspect,omitempty"`
}

// Status is a snapshot of a dock for the admin surface.
type Status struct {
	ID       string       `json:"id"`
	Path     string       `json:"path"`
	LastScan time.Time    `json:"last_scan,omitzero"`
	Error    string       `json:"error,omitempty"`
	Paused   bool         `json:"paused"`
	Slots    []SlotStatus `json:"slots"`
}

// New builds a dock watcher; Run starts it.
func New(cfg Config, env ingest.Env) *Dock {
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = DefaultScanInterval
	}
	if cfg.Copies <= 0 {
		cfg.Copies = DefaultCopies
	}
	if cfg.MaxClockOffset <= 0 {
		cfg.MaxClockOffset = DefaultMaxClockOffset
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Location == nil {
		env.Location = time.Local
	}
	env.Log = env.Log.With(keyDock, cfg.ID)
	if env.Metrics != nil {
		// Both exist from the start, so that a first suspect docking is an increase.
		env.Metrics.ClockOffset.WithLabelValues(cfg.ID).Set(0)
		env.Metrics.ClockSuspect.WithLabelValues(cfg.ID)
		env.Metrics.Unregistered.WithLabelValues(cfg.ID)
	}
	return &Dock{
		cfg: cfg, env: env,
		queue: newQueue(), kick: make(chan struct{}, 1), reads: make(chan struct{}, cfg.Copies),
		seen: map[string]seenFile{}, retry: map[string]retryState{},
		slots: map[string]*SlotStatus{}, reported: map[string]bool{},
		dockings: map[string]*docking{}, emptied: map[string]time.Time{},
	}
}

// ID is the dock's id from the config.
func (d *Dock) ID() string { return d.cfg.ID }

// Run scans the dock until ctx is done: at start, every ScanInterval, soon
// after a filesystem event, when a settling file should be complete, and
// when the copies ran out of work. Scans feed the queue; Copies workers
// copy from it meanwhile, so a camera docked during a long offload is seen
// and served at once. A copy in flight at shutdown is abandoned; the camera
// keeps the file, so the next start copies it again.
func (d *Dock) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wake := make(chan struct{}, 1)
	d.releases.mu.Lock()
	d.releases.wake = wake
	d.releases.mu.Unlock()
	wg.Go(func() { d.recordReleases(ctx, wake) })
	for range workers(d.cfg.Copies) {
		wg.Go(func() { d.work(ctx) })
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.env.Log.Warn("filesystem events unavailable; polling only", keyErr, err)
	}
	var events chan fsnotify.Event
	var errs chan error
	if w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if !news(ev) {
				continue
			}
			// Debounce: a docking camera produces a burst of events.
			if !drain(events, 200*time.Millisecond, time.Second) {
				events = nil
			}
		case <-d.kick:
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflow or a lost watch: the scan below is the source of truth.
			d.env.Log.Warn("filesystem events lost; rescanning", keyErr, err)
		}
		next := d.scan(ctx, w)
		timer.Reset(next)
	}
}

// news reports whether an event may mean a file to take: not the removals
// and attribute changes the dock's own releases cause by the thousand.
func news(ev fsnotify.Event) bool {
	return ev.Op&(fsnotify.Create|fsnotify.Write|fsnotify.Rename) != 0
}

// drain waits until events that may mean news have been quiet for quiet,
// or for at most most:
// a stream of events (a long offload's own deletions, a camera still being
// written) never holds the scan back longer than that. false: closed.
func drain(events chan fsnotify.Event, quiet, most time.Duration) bool {
	t := time.NewTimer(quiet)
	defer t.Stop()
	end := time.After(most)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return false
			}
			if news(ev) {
				t.Reset(quiet)
			}
		case <-t.C:
			return true
		case <-end:
			return true
		}
	}
}

// Status is a snapshot for the admin surface.
func (d *Dock) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := Status{ID: d.cfg.ID, Path: d.cfg.Path, LastScan: d.lastScan, Error: d.scanErr,
		Paused: d.env.Paused != nil && d.env.Paused()}
	now := d.env.Now()
	for _, s := range d.slots {
		st.Slots = append(st.Slots, s.snapshot(now))
	}
	sort.Slice(st.Slots, func(i, j int) bool { return st.Slots[i].Slot < st.Slots[j].Slot })
	return st
}
