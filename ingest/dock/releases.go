package dock

import (
	"context"
	"sync"
	"time"

	"custodian/ingest"
	"custodian/internal/text"
	"custodian/storage/catalog"
)

// releases records deletions from cameras in groups. The intent of each
// deletion is in the catalog before the file is deleted (PendingRelease,
// committed with the record), so its record may follow a moment later: a
// crash in between is settled by resumeReleases at the next start. While
// the dock runs, its recorder goroutine takes everything waiting in one
// commit, so copy workers never wait for it; Scan records what waits when
// its copies are done. A burst of small files costs one commit per group.
type releases struct {
	mu      sync.Mutex
	pending []release
	wake    chan struct{} // non-nil while the recorder goroutine runs
}

type release struct {
	rec          catalog.Recording
	path, detail string
	at           time.Time
}

// recordRelease notes that rec's source at path is gone from the camera,
// for the next flushReleases to record.
func (d *Dock) recordRelease(rec catalog.Recording, path, detail string) {
	r := &d.releases
	r.mu.Lock()
	r.pending = append(r.pending, release{rec: rec, path: path, detail: detail, at: d.env.Now().UTC()})
	wake := r.wake
	r.mu.Unlock()
	if wake != nil {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// recordReleases is the recorder goroutine of a running dock: it records
// what waits whenever a release is added, and once more when ctx is done.
func (d *Dock) recordReleases(ctx context.Context, wake chan struct{}) {
	t := time.NewTicker(pollPaused)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			d.flushReleases()
			return
		case <-wake:
		case <-t.C: // a group the catalog refused is tried again
		}
		d.flushReleases()
	}
}

// flushReleases records the waiting releases, group by group, until none
// waits. A group the catalog refuses stays waiting for the next call.
func (d *Dock) flushReleases() {
	r := &d.releases
	for {
		r.mu.Lock()
		group := r.pending
		r.pending = nil
		r.mu.Unlock()
		if len(group) == 0 {
			return
		}
		if err := d.storeReleases(group); err != nil {
			r.mu.Lock()
			r.pending = append(group, r.pending...)
			r.mu.Unlock()
			return
		}
	}
}

// storeReleases records a group of releases in one transaction.
func (d *Dock) storeReleases(group []release) error {
	changes := make([]catalog.Change, len(group))
	for i, rl := range group {
		changes[i] = catalog.Change{ID: rl.rec.ID, Fn: func(x *catalog.Recording) ([]catalog.Event, error) {
			x.PendingRelease = nil
			if !x.ReleasedAt.IsZero() {
				return nil, nil
			}
			x.ReleasedAt = rl.at
			return []catalog.Event{{Type: catalog.EventReleased, Detail: rl.detail}}, nil
		}}
	}
	errs, err := d.env.Catalog.UpdateMany(changes)
	if err != nil {
		d.releaseFailed(len(group), err)
		return err
	}
	for i, rl := range group {
		if errs[i] != nil {
			d.releaseFailed(1, errs[i])
			continue
		}
		d.env.Log.Info("released", keyID, rl.rec.ID, keySHA, rl.rec.SHA256, keyPath, text.Printable(rl.path))
	}
	return nil
}

func (d *Dock) releaseFailed(n int, err error) {
	if d.env.Metrics != nil {
		d.env.Metrics.Errors.WithLabelValues(string(catalog.SourceDock), ingest.ErrKindRelease).Add(float64(n))
	}
	d.env.Log.Error("deleted from the camera but the release is not recorded yet; retried, and settled at the next start",
		"files", n, keyErr, err)
}
