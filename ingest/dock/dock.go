// Package dock watches docking stations: it finds the recordings on docked
// body cameras, waits for them to settle, copies each through the hash into
// staging and the catalog, and only then releases it from the camera.
package dock

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sync/errgroup"

	"custodian/hardware/camera"
	"custodian/ingest"
	"custodian/internal/digest"
	"custodian/internal/text"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// Defaults of Config.
const (
	DefaultSettle       = 5 * time.Second
	DefaultScanInterval = 15 * time.Second
	DefaultCopies       = 2
	// MaxDepth bounds how deep below a dock custodian looks for files.
	MaxDepth = 12
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
}

// Dock watches one docking station. Each camera appears as a folder (a slot)
// below the dock path; files anywhere below a slot are its recordings.
type Dock struct {
	cfg Config
	env ingest.Env

	mu       sync.Mutex
	seen     map[string]seenFile   // path -> last observation
	retry    map[string]retryState // path -> when to try again
	busy     map[string]bool
	slots    map[string]*SlotStatus
	reported map[string]bool // entries already logged as skipped
	lastScan time.Time
	scanErr  string
	resumed  bool
}

type seenFile struct {
	size        int64
	mtime       time.Time
	stableSince time.Time
}

type retryState struct {
	at       time.Time
	failures int
}

// SlotStatus is what the admin page shows of one docked camera.
type SlotStatus struct {
	Slot         string    `json:"slot"`
	Device       string    `json:"device,omitempty"`
	DockedSince  time.Time `json:"docked_since"`
	PendingFiles int       `json:"pending_files"`
	PendingBytes int64     `json:"pending_bytes"`
	DoneFiles    int       `json:"done_files"`
	DoneBytes    int64     `json:"done_bytes"`
	LastOffload  time.Time `json:"last_offload,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
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
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Location == nil {
		env.Location = time.Local
	}
	env.Log = env.Log.With(keyDock, cfg.ID)
	return &Dock{
		cfg: cfg, env: env,
		seen: map[string]seenFile{}, retry: map[string]retryState{}, busy: map[string]bool{},
		slots: map[string]*SlotStatus{}, reported: map[string]bool{},
	}
}

// Run scans the dock until ctx is done: at start, every ScanInterval, soon
// after a filesystem event, and when a settling file should be complete. A
// copy in flight at shutdown is abandoned and its temp file removed; the
// camera keeps the file, so the next start copies it again.
func (d *Dock) Run(ctx context.Context) error {
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
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			// Debounce: a docking camera produces a burst of events.
			drain(events, 200*time.Millisecond)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflow or a lost watch: the scan below is the source of truth.
			d.env.Log.Warn("filesystem events lost; rescanning", keyErr, err)
		}
		next := d.Scan(ctx, w)
		timer.Reset(next)
	}
}

func drain(events chan fsnotify.Event, quiet time.Duration) {
	t := time.NewTimer(quiet)
	defer t.Stop()
	for {
		select {
		case <-events:
			t.Reset(quiet)
		case <-t.C:
			return
		}
	}
}

// Scan walks the dock once, ingests every file that is complete and returns
// how long until the next scan is due. w may be nil.
func (d *Dock) Scan(ctx context.Context, w *fsnotify.Watcher) time.Duration {
	if !d.resumed {
		d.resumeReleases()
		d.resumed = true
	}
	now := d.env.Now()
	ready, soonest, err := d.walk(now, w)
	d.mu.Lock()
	d.lastScan = now
	d.scanErr = ""
	if err != nil {
		d.scanErr = err.Error()
	}
	paused := d.env.Paused != nil && d.env.Paused()
	d.mu.Unlock()
	if err != nil {
		d.env.Log.Warn("dock scan failed", keyErr, err)
	}
	if !paused && len(ready) > 0 {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(d.cfg.Copies)
		for _, f := range ready {
			g.Go(func() error {
				d.ingest(gctx, f)
				return nil
			})
		}
		_ = g.Wait() // ingest reports its own failures; none stops the dock
	}
	next := d.cfg.ScanInterval
	if soonest > 0 && soonest < next {
		next = soonest
	}
	if len(ready) > 0 && !paused {
		next = 0 // files may have arrived while copying
	}
	return next
}

// candidate is a complete file ready to copy.
type candidate struct {
	slot, camRoot, path string
	info                fs.FileInfo
}

// walk lists the dock, updates the settle bookkeeping and returns the files
// that are complete, and how long until the next one could be.
func (d *Dock) walk(now time.Time, w *fsnotify.Watcher) (ready []candidate, soonest time.Duration, err error) {
	root := d.cfg.Path
	present := map[string]bool{}
	slots := map[string]*SlotStatus{}
	werr := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			// A camera unplugged mid-walk: its folder vanished. Not an error.
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir
			}
			d.skipOnce(path, "unreadable", err.Error())
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		depth := 0
		if rel != "." {
			depth = strings.Count(rel, string(filepath.Separator)) + 1
		}
		slot, _, _ := strings.Cut(rel, string(filepath.Separator))
		switch t := e.Type(); {
		case t&fs.ModeSymlink != 0:
			d.skipOnce(path, "symlink", "symlinks are never followed")
			return nil
		case e.IsDir():
			if depth > MaxDepth {
				d.skipOnce(path, "too_deep", "deeper than the dock depth limit")
				return fs.SkipDir
			}
			if depth == 1 {
				slots[slot] = d.slotStatus(slot, now)
			}
			if w != nil {
				// Re-adding an existing watch is a no-op; a failure (limit
				// reached) only means slower pick-up, the scan still finds it.
				if err := w.Add(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					d.skipOnce("watch:"+path, "", "no filesystem events: "+err.Error())
				}
			}
			return nil
		case !t.IsRegular():
			d.skipOnce(path, "special", "not a regular file ("+t.String()+"); never opened")
			return nil
		}
		if depth == 1 || d.isMarker(e.Name()) || isDeviceFile(depth, e.Name()) {
			return nil // files directly in the dock root belong to no camera
		}
		info, err := e.Info()
		if err != nil {
			return nil // vanished between readdir and stat
		}
		present[path] = true
		st := slots[slot]
		d.mu.Lock()
		defer d.mu.Unlock()
		prev, ok := d.seen[path]
		if !ok || prev.size != info.Size() || !prev.mtime.Equal(info.ModTime()) {
			prev = seenFile{size: info.Size(), mtime: info.ModTime(), stableSince: now}
			d.seen[path] = prev
		}
		if st != nil {
			st.PendingFiles++
			st.PendingBytes += info.Size()
		}
		if d.busy[path] {
			return nil
		}
		if r, ok := d.retry[path]; ok && now.Before(r.at) {
			if wait := r.at.Sub(now); soonest == 0 || wait < soonest {
				soonest = wait
			}
			return nil
		}
		wait := d.cfg.Settle - now.Sub(prev.stableSince)
		if wait > 0 && !d.hasMarker(path) {
			if soonest == 0 || wait < soonest {
				soonest = wait
			}
			return nil
		}
		ready = append(ready, candidate{slot: slot, camRoot: filepath.Join(root, slot), path: path, info: info})
		return nil
	})
	d.mu.Lock()
	for p := range d.seen {
		if !present[p] {
			delete(d.seen, p)
			delete(d.retry, p)
		}
	}
	for name, st := range slots {
		if old, ok := d.slots[name]; ok {
			st.DockedSince, st.LastOffload, st.DoneFiles, st.DoneBytes, st.LastError, st.Device =
				old.DockedSince, old.LastOffload, old.DoneFiles, old.DoneBytes, old.LastError, old.Device
		}
	}
	d.slots = slots
	d.mu.Unlock()
	if d.env.Metrics != nil {
		d.env.Metrics.Cameras.WithLabelValues(d.cfg.ID).Set(float64(len(slots)))
		d.env.Metrics.Pending.WithLabelValues(d.cfg.ID).Set(float64(len(present)))
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].info.ModTime().Before(ready[j].info.ModTime()) })
	return ready, soonest, werr
}

func (d *Dock) slotStatus(slot string, now time.Time) *SlotStatus {
	return &SlotStatus{Slot: text.Printable(slot), DockedSince: now}
}

func isDeviceFile(depth int, name string) bool {
	if depth != 2 {
		return false
	}
	for _, n := range []string{"DEVICE.TXT", "device.txt", "device.json", "DEVICE.JSON"} {
		if name == n {
			return true
		}
	}
	return false
}

func (d *Dock) isMarker(name string) bool {
	s := d.cfg.Profile.DoneSuffix()
	return s != "" && strings.HasSuffix(name, s)
}

func (d *Dock) hasMarker(path string) bool {
	s := d.cfg.Profile.DoneSuffix()
	if s == "" {
		return false
	}
	fi, err := os.Lstat(path + s)
	return err == nil && fi.Mode().IsRegular()
}

// skipOnce logs a skipped entry the first time it is seen.
func (d *Dock) skipOnce(path, reason, why string) {
	d.mu.Lock()
	seen := d.reported[path]
	d.reported[path] = true
	d.mu.Unlock()
	if seen {
		return
	}
	if reason != "" && d.env.Metrics != nil {
		d.env.Metrics.Skipped.WithLabelValues(reason).Inc()
	}
	d.env.Log.Warn("skipped dock entry", keyPath, text.Printable(path), keyReason, why)
}

// Status is a snapshot for the admin surface.
func (d *Dock) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := Status{ID: d.cfg.ID, Path: d.cfg.Path, LastScan: d.lastScan, Error: d.scanErr,
		Paused: d.env.Paused != nil && d.env.Paused()}
	for _, s := range d.slots {
		st.Slots = append(st.Slots, *s)
	}
	sort.Slice(st.Slots, func(i, j int) bool { return st.Slots[i].Slot < st.Slots[j].Slot })
	return st
}

// fail records a failed attempt: the file is retried later with backoff.
func (d *Dock) fail(c candidate, kind string, err error) {
	now := d.env.Now()
	d.mu.Lock()
	r := d.retry[c.path]
	r.failures++
	delay := min(time.Duration(1<<min(r.failures, 16))*time.Second, maxRetryDelay)
	if kind == ingest.ErrKindStagingFull {
		delay = fullRetry
	}
	r.at = now.Add(delay)
	d.retry[c.path] = r
	if s := d.slots[c.slot]; s != nil {
		s.LastError = kind + ": " + err.Error()
	}
	d.mu.Unlock()
	if d.env.Metrics != nil {
		d.env.Metrics.Errors.WithLabelValues(string(catalog.SourceDock), kind).Inc()
	}
	d.env.Log.Warn("ingest failed; camera keeps the file, will retry",
		keyPath, text.Printable(c.path), keyKind, kind, keyErr, err, keyRetryAt, r.at)
}

func errKind(err error) string {
	var re *staging.ReadError
	switch {
	case errors.As(err, &re), errors.Is(err, staging.ErrShortCopy):
		return ingest.ErrKindRead
	case errors.Is(err, staging.ErrFull), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return ingest.ErrKindStagingFull
	case errors.Is(err, digest.ErrMismatch):
		return ingest.ErrKindVerify
	default:
		return ingest.ErrKindStage
	}
}
