package dock

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sync/errgroup"

	"custodian/internal/text"
)

// Scan walks the dock once, ingests every file that is complete and returns
// how long until the next scan is due. w may be nil.
func (d *Dock) Scan(ctx context.Context, w *fsnotify.Watcher) time.Duration {
	if !d.resumed {
		d.resumeReleases()
		d.resumed = true
	}
	now := d.env.Now()
	wk, err := d.walk(now, w)
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
	// A camera's files are taken only once its clock is measured and recorded.
	unmeasured := d.checkClocks(wk)
	var ready []candidate
	for _, c := range wk.ready {
		if !unmeasured[c.slot] {
			ready = append(ready, c)
		}
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
	if wk.soonest > 0 && wk.soonest < next {
		next = wk.soonest
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

// walkState is one pass over the dock: what it found so far.
type walkState struct {
	now     time.Time
	w       *fsnotify.Watcher // nil: no filesystem events
	present map[string]bool
	slots   map[string]*SlotStatus
	ready   []candidate
	soonest time.Duration        // until the next file could be ready; 0: none
	newest  map[string]candidate // slot -> its file with the latest mtime
}

// due notes that something may be ready in wait.
func (wk *walkState) due(wait time.Duration) {
	if wk.soonest == 0 || wait < wk.soonest {
		wk.soonest = wait
	}
}

// walk lists the dock, updates the settle bookkeeping and returns what it
// found: the files that are complete, how long until the next one could
// be, and each slot's newest file.
func (d *Dock) walk(now time.Time, w *fsnotify.Watcher) (*walkState, error) {
	wk := &walkState{now: now, w: w, present: map[string]bool{}, slots: map[string]*SlotStatus{},
		newest: map[string]candidate{}}
	err := filepath.WalkDir(d.cfg.Path, func(path string, e fs.DirEntry, err error) error {
		return d.visit(wk, path, e, err)
	})
	d.forget(wk)
	sort.Slice(wk.ready, func(i, j int) bool { return wk.ready[i].info.ModTime().Before(wk.ready[j].info.ModTime()) })
	return wk, err
}

// visit looks at one entry below the dock: a slot, a folder to watch, or a
// file that may be ready.
func (d *Dock) visit(wk *walkState, path string, e fs.DirEntry, err error) error {
	root := d.cfg.Path
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
		return d.visitDir(wk, path, slot, depth)
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
	wk.present[path] = true
	d.settle(wk, candidate{slot: slot, camRoot: filepath.Join(root, slot), path: path, info: info})
	return nil
}

// visitDir notes a slot (a folder directly below the dock) and watches
// every folder for events.
func (d *Dock) visitDir(wk *walkState, path, slot string, depth int) error {
	if depth > MaxDepth {
		d.skipOnce(path, "too_deep", "deeper than the dock depth limit")
		return fs.SkipDir
	}
	if depth == 1 {
		wk.slots[slot] = d.slotStatus(slot, wk.now)
	}
	if wk.w != nil {
		// Re-adding an existing watch is a no-op; a failure (limit
		// reached) only means slower pick-up, the scan still finds it.
		if err := wk.w.Add(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.skipOnce("watch:"+path, "", "no filesystem events: "+err.Error())
		}
	}
	return nil
}

// settle counts a file as pending and makes it ready once it has kept its
// size and time for the settle period (or has its completion marker) and
// no retry is waiting.
func (d *Dock) settle(wk *walkState, c candidate) {
	now, info := wk.now, c.info
	st := wk.slots[c.slot]
	if n, ok := wk.newest[c.slot]; !ok || info.ModTime().After(n.info.ModTime()) {
		wk.newest[c.slot] = c
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	prev, ok := d.seen[c.path]
	if !ok || prev.size != info.Size() || !prev.mtime.Equal(info.ModTime()) || d.released[c.path] {
		// A path this dock deleted is back: a new file under a reused name.
		delete(d.released, c.path)
		prev = seenFile{slot: c.slot, size: info.Size(), mtime: info.ModTime(), stableSince: now}
		d.seen[c.path] = prev
	}
	if st != nil {
		st.PendingFiles++
		st.PendingBytes += info.Size()
	}
	if d.busy[c.path] {
		return
	}
	if r, ok := d.retry[c.path]; ok && now.Before(r.at) {
		wk.due(r.at.Sub(now))
		return
	}
	wait := d.cfg.Settle - now.Sub(prev.stableSince)
	if wait > 0 && !d.hasMarker(c.path) {
		wk.due(wait)
		return
	}
	wk.ready = append(wk.ready, c)
}

// forget drops the bookkeeping of files that are gone, carries each slot's
// counts over to this walk's slots, follows each camera's docking and
// updates the dock gauges.
func (d *Dock) forget(wk *walkState) {
	d.mu.Lock()
	for p, f := range d.seen {
		if !wk.present[p] {
			if dk := d.dockings[f.slot]; dk != nil && !d.released[p] {
				dk.lost = true
			}
			delete(d.seen, p)
			delete(d.retry, p)
			delete(d.released, p)
		}
	}
	for name, st := range wk.slots {
		if old, ok := d.slots[name]; ok {
			st.DockedSince, st.LastOffload, st.DoneFiles, st.DoneBytes, st.LastError, st.Device =
				old.DockedSince, old.LastOffload, old.DoneFiles, old.DoneBytes, old.LastError, old.Device
			st.ClockOffset, st.ClockBasis, st.ClockSuspect = old.ClockOffset, old.ClockBasis, old.ClockSuspect
		}
	}
	d.followDockings(wk)
	d.slots = wk.slots
	d.mu.Unlock()
	if d.env.Metrics != nil {
		d.env.Metrics.Cameras.WithLabelValues(d.cfg.ID).Set(float64(len(wk.slots)))
		d.env.Metrics.Pending.WithLabelValues(d.cfg.ID).Set(float64(len(wk.present)))
	}
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
