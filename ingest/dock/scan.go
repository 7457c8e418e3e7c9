package dock

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"custodian/hardware/camera"
	"custodian/internal/text"
)

// LooseSlot is the slot of files placed directly in the dock root: they are
// ingested like any camera's, with no folder to name their device.
const LooseSlot = "(loose)"

// Why a dock entry is left on the camera; bounded, for metrics.
const (
	leftSymlink    = "symlink"    // a link; never followed
	leftSpecial    = "special"    // a FIFO, device node or socket; never opened
	leftTooDeep    = "too_deep"   // below the dock's max_depth
	leftUnreadable = "unreadable" // the folder could not be listed
	leftOutside    = "outside"    // a path component became a link or left the dock
)

// Scan walks the dock once, copies every file that is complete, waits for
// those copies, and returns how long until the next scan is due. w may be
// nil. Run does the same with the copies running beside the scans.
func (d *Dock) Scan(ctx context.Context, w *fsnotify.Watcher) time.Duration {
	next := d.scan(ctx, w)
	d.drain(ctx)
	return next
}

// scan walks the dock, queues the files that are complete and returns how
// long until the next scan is due.
func (d *Dock) scan(ctx context.Context, w *fsnotify.Watcher) time.Duration {
	if !d.resumed {
		d.resumeReleases()
		d.resumed = true
	}
	d.flushReleases() // any a refused commit left waiting
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
	if !paused {
		slices.SortFunc(wk.ready, older)
		for _, c := range wk.ready {
			if !unmeasured[c.slot] && ctx.Err() == nil {
				d.queue.push(c, d.dockedSince(c.slot), now)
			}
		}
	}
	next := d.cfg.ScanInterval
	if wk.soonest > 0 && wk.soonest < next {
		next = wk.soonest
	}
	return next
}

// candidate is a complete file ready to copy.
type candidate struct {
	slot string // the camera's folder below the dock, or LooseSlot
	rel  string // path below the dock root
	path string // dock path + rel: the file's name in logs and maps
	info fs.FileInfo
	root *camera.Root // the dock root it was found under
}

// camDir is the camera's folder below the dock root.
func (c candidate) camDir() string {
	if c.slot == LooseSlot {
		return "."
	}
	return c.slot
}

// walkState is one pass over the dock: what it found so far.
type walkState struct {
	now     time.Time
	root    *camera.Root
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

// slot returns the status of a slot seen in this walk.
func (wk *walkState) slot(name string) *SlotStatus {
	st := wk.slots[name]
	if st == nil {
		st = &SlotStatus{Slot: text.Printable(name), DockedSince: wk.now}
		wk.slots[name] = st
	}
	return st
}

// walk lists the dock, updates the settle bookkeeping and returns what it
// found: the files that are complete, how long until the next one could
// be, and each slot's newest file.
func (d *Dock) walk(now time.Time, w *fsnotify.Watcher) (*walkState, error) {
	wk := &walkState{now: now, w: w, present: map[string]bool{}, slots: map[string]*SlotStatus{},
		newest: map[string]candidate{}}
	root, err := d.openRoot()
	if err == nil {
		wk.root = root
		err = d.walkDir(wk, ".", 0, "")
	}
	d.forget(wk)
	return wk, err
}

// openRoot returns the dock root, opening it again when the dock path now
// names another directory (remounted). A root is never closed while a copy
// may use it; the runtime closes an unreferenced one.
func (d *Dock) openRoot() (*camera.Root, error) {
	fi, err := os.Stat(d.cfg.Path)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.root != nil {
		if cur, err := d.root.Lstat("."); err == nil && camera.SameFile(cur, fi) {
			return d.root, nil
		}
	}
	r, err := camera.OpenRoot(d.cfg.Path)
	if err != nil {
		return nil, err
	}
	d.root = r
	return r, nil
}

// walkDir visits the entries of the folder rel at depth (the dock root is
// 0, a camera's folder 1); slot is the camera it belongs to.
func (d *Dock) walkDir(wk *walkState, rel string, depth int, slot string) error {
	dir, err := wk.root.OpenDir(rel)
	if err != nil {
		if depth == 0 {
			return err
		}
		if !errors.Is(err, fs.ErrNotExist) { // unplugged mid-walk is no error
			d.leave(wk, slot, rel, reasonOf(err), err.Error())
		}
		return nil
	}
	defer dir.Close()
	d.watch(wk, rel)
	ents, err := dir.ReadDir(-1)
	if err != nil && depth > 0 {
		d.leave(wk, slot, rel, leftUnreadable, err.Error())
	}
	for _, e := range ents {
		child := filepath.Join(rel, e.Name())
		s := slot
		if depth == 0 {
			s = LooseSlot
			if e.IsDir() {
				s = e.Name()
				wk.slot(s)
			}
		}
		if err := d.visit(wk, dir, child, e, depth+1, s); err != nil {
			return err
		}
	}
	return nil
}

// visit looks at one entry at depth: a folder to walk, or a file that may
// be ready.
func (d *Dock) visit(wk *walkState, dir *os.File, rel string, e fs.DirEntry, depth int, slot string) error {
	switch t := e.Type(); {
	case t&fs.ModeSymlink != 0:
		d.leave(wk, slot, rel, leftSymlink, "symlinks are never followed")
		return nil
	case e.IsDir():
		if depth > d.cfg.MaxDepth {
			d.leave(wk, slot, rel, leftTooDeep, "deeper than the dock's max_depth")
			return nil
		}
		return d.walkDir(wk, rel, depth, slot)
	case !t.IsRegular():
		d.leave(wk, slot, rel, leftSpecial, "not a regular file ("+t.String()+"); never opened")
		return nil
	}
	if d.isMarker(e.Name()) || isDeviceFile(depth, e.Name()) {
		return nil
	}
	info, err := camera.LstatAt(dir, e.Name())
	if err != nil || !info.Mode().IsRegular() {
		return nil // vanished, or swapped, between readdir and stat: the next scan sees it
	}
	path := filepath.Join(d.cfg.Path, rel)
	wk.present[path] = true
	d.settle(wk, candidate{slot: slot, rel: rel, path: path, info: info, root: wk.root})
	return nil
}

func reasonOf(err error) string {
	if errors.Is(err, camera.ErrOutside) {
		return leftOutside
	}
	return leftUnreadable
}

// watch asks for filesystem events of a folder. Re-adding an existing watch
// is a no-op; a failure (limit reached) only means slower pick-up, the scan
// still finds it.
func (d *Dock) watch(wk *walkState, rel string) {
	if wk.w == nil {
		return
	}
	p := filepath.Join(d.cfg.Path, rel)
	if err := wk.w.Add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.skipOnce("watch:"+p, "", "no filesystem events: "+err.Error())
	}
}

// leave counts an entry left on the camera, in the slot's status and the
// metric, and logs it the first time it is seen.
func (d *Dock) leave(wk *walkState, slot, rel, reason, why string) {
	st := wk.slot(slot)
	if st.Left == nil {
		st.Left = map[string]int{}
	}
	st.Left[reason]++
	d.skipOnce(filepath.Join(d.cfg.Path, rel), reason, why)
}

// settle counts a file as pending and makes it ready once it has kept its
// size and time for the settle period (or has its completion marker) and
// no retry is waiting.
func (d *Dock) settle(wk *walkState, c candidate) {
	now, info := wk.now, c.info
	st := wk.slot(c.slot)
	if n, ok := wk.newest[c.slot]; !ok || info.ModTime().After(n.info.ModTime()) {
		wk.newest[c.slot] = c
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	prev, ok := d.seen[c.path]
	if !ok || prev.size != info.Size() || !prev.mtime.Equal(info.ModTime()) || !camera.SameFile(prev.info, info) {
		// New, changed, or a new file under a name seen before.
		prev = seenFile{slot: c.slot, size: info.Size(), mtime: info.ModTime(), info: info, stableSince: now}
		d.seen[c.path] = prev
	}
	if prev.kept {
		st.KeptFiles++
		return // catalogued, and this dock keeps files on the camera
	}
	st.PendingFiles++
	st.PendingBytes += info.Size()
	if d.queue.has(c.path) {
		return
	}
	if r, ok := d.retry[c.path]; ok && now.Before(r.at) {
		wk.due(r.at.Sub(now))
		return
	}
	wait := d.cfg.Settle - now.Sub(prev.stableSince)
	if wait > 0 && !d.hasMarker(c) {
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
			if dk := d.dockings[f.slot]; dk != nil && !f.released {
				dk.lost = true
			}
			delete(d.seen, p)
			delete(d.retry, p)
			d.queue.drop(f.slot, p, f.size)
		}
	}
	for name, st := range wk.slots {
		if old, ok := d.slots[name]; ok {
			st.carry(old)
		}
	}
	d.followDockings(wk)
	d.slots = wk.slots
	g := d.gaugeValues()
	d.mu.Unlock()
	d.gauges(g)
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

func (d *Dock) hasMarker(c candidate) bool {
	s := d.cfg.Profile.DoneSuffix()
	if s == "" {
		return false
	}
	fi, err := c.root.Lstat(c.rel + s)
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
