package dock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"syscall"
	"time"

	"custodian/hardware/camera"
	"custodian/ingest"
	"custodian/internal/digest"
	"custodian/internal/text"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// ingest takes one complete file from a camera: copy through the hash into
// staging, re-read and verify, record it in the catalog, and only then, if the
// dock says so, delete it from the camera.
//
// read is called once the camera's file has been read through.
func (d *Dock) ingest(ctx context.Context, c candidate, read func()) {
	rec := d.describe(c)
	d.applyClock(&rec, c.slot)
	log := d.env.Log.With(keyPath, text.Printable(c.path))
	d.copying(c)

	// Seen before with the same size and time: the same file only if the
	// bytes are the same. Content is identity; a name never keeps footage
	// on a camera.
	if known, ok, err := d.env.Catalog.FindQuick(rec.Device, rec.OriginalName(), c.info.Size(), c.info.ModTime()); err != nil {
		d.fail(c, ingest.ErrKindCatalog, err)
		return
	} else if ok {
		same, err := d.sameContent(c, known)
		if err != nil {
			d.fail(c, ingest.ErrKindRead, err)
			return
		}
		if same {
			d.takeKnown(c, known)
			return
		}
		rec.AddFlag(catalog.FlagNameReused)
		log.Warn("a file with the name, size and time of an earlier recording has other bytes; ingesting it as new",
			keyID, known.ID)
	}

	log.Info("found", keyDevice, rec.Device, keySize, c.info.Size())
	now := d.env.Now().UTC()
	saved, created, ok := d.stage(ctx, c, rec, now, read, log)
	if !ok {
		return
	}
	log.Info("verified", keyID, saved.ID, keySHA, saved.SHA256, keyDevice, saved.Device,
		keyOfficer, saved.Officer, keyFlags, saved.Flags, "new", created)
	d.offloaded(c, saved, created, now)

	if !d.cfg.DeleteAfterIngest {
		d.finished(c, false)
		return
	}
	if err := d.release(c, saved); err != nil {
		d.fail(c, ingest.ErrKindRelease, err)
	}
}

// sameContent hashes the camera's file and compares it with a recording.
func (d *Dock) sameContent(c candidate, known catalog.Recording) (bool, error) {
	f, err := c.root.Open(c.rel)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sha, n, err := digest.Sum(f)
	if err != nil {
		return false, err
	}
	return sha == known.SHA256 && n == known.Size, nil
}

// takeKnown finishes a file the catalog already holds, proven by hash: a
// crash came between the catalog commit and the release, or this dock
// keeps files and has restarted.
func (d *Dock) takeKnown(c candidate, known catalog.Recording) {
	if !d.cfg.DeleteAfterIngest {
		d.finished(c, false)
		return
	}
	if err := d.releaseKnown(c, known); err != nil {
		d.fail(c, ingest.ErrKindRelease, err)
	}
}

// stage copies the file through the hash into staging and records it in
// the catalog. The record is committed while staging holds the blob's lock,
// so no retention step can remove the blob between its rename and its
// record. ok is false when it failed (recorded for a retry) or the dock is
// shutting down; the camera keeps the file either way.
func (d *Dock) stage(ctx context.Context, c candidate, rec catalog.Recording, now time.Time, read func(), log *slog.Logger) (saved catalog.Recording, created bool, ok bool) {
	src, err := c.root.Open(c.rel)
	if err != nil {
		if errors.Is(err, camera.ErrOutside) {
			d.outside(c, err)
			return saved, false, false
		}
		d.fail(c, ingest.ErrKindRead, err)
		return saved, false, false
	}
	commit := func(blob staging.Blob) error {
		// The camera must not have touched the file while it was copied.
		if fi, err := src.Stat(); err != nil || fi.Size() != c.info.Size() || !fi.ModTime().Equal(c.info.ModTime()) {
			return errSourceChanged
		}
		rec.SHA256, rec.Size = blob.SHA256, blob.Size
		rec.State, rec.StagedAt, rec.VerifiedAt = catalog.StateVerified, now, now
		if d.cfg.DeleteAfterIngest {
			// The release's intent goes with the record: one commit less.
			rec.PendingRelease = []byte(c.path)
		}
		log.Info("staged", keySHA, blob.SHA256, keySize, blob.Size)
		var err error
		if saved, created, err = d.catalogue(c, rec, now); err != nil {
			return &catalogError{err}
		}
		return nil
	}
	blob, err := d.put(ctx, c, src, read, commit, log)
	src.Close()
	var ce *catalogError
	switch {
	case err == nil:
		return saved, created, true
	case ctx.Err() != nil:
		// shutting down
	case errors.Is(err, errSourceChanged):
		d.dropUnreferenced(blob.SHA256)
		d.fail(c, ingest.ErrKindChanged, err)
	case errors.As(err, &ce):
		d.fail(c, ingest.ErrKindCatalog, ce.err)
	default:
		d.fail(c, errKind(err), err)
	}
	return saved, false, false
}

// put copies src into staging: a large file resumably, continuing an
// interrupted copy of the same file from where it stopped.
func (d *Dock) put(ctx context.Context, c candidate, f *os.File, read func(), commit func(staging.Blob) error, log *slog.Logger) (staging.Blob, error) {
	var src io.ReadSeeker = f
	if d.source != nil {
		src = d.source(f)
	}
	src = readThrough{src, read}
	if c.info.Size() < resumeMin {
		return d.env.Staging.Put(ctx, src, c.info.Size(), commit)
	}
	r, err := d.resumeOf(c, src)
	if err != nil {
		return staging.Blob{}, &staging.ReadError{Err: err}
	}
	blob, err := d.env.Staging.PutResumable(ctx, src, c.info.Size(), r, commit)
	if blob.Resumed > 0 {
		log.Info("copy resumed", "from", blob.Resumed, keySize, c.info.Size())
	}
	return blob, err
}

// readThrough calls done when its source is read to the end.
type readThrough struct {
	io.ReadSeeker
	done func()
}

func (r readThrough) Read(p []byte) (int, error) {
	n, err := r.ReadSeeker.Read(p)
	if err == io.EOF {
		r.done()
	}
	return n, err
}

// errSourceChanged: the camera's file changed while it was copied.
var errSourceChanged = errors.New("source changed while copying")

// catalogError marks a catalog failure inside a staging commit.
type catalogError struct{ err error }

func (e *catalogError) Error() string { return e.err.Error() }
func (e *catalogError) Unwrap() error { return e.err }

// catalogue records a verified copy; a record that was missing or corrupt
// in staging is verified again by this fresh copy.
func (d *Dock) catalogue(c candidate, rec catalog.Recording, now time.Time) (saved catalog.Recording, created bool, err error) {
	saved, created, err = d.env.Catalog.Add(rec, catalog.Event{Type: catalog.EventIngested,
		Detail: fmt.Sprintf("dock %s slot %s file %s", d.cfg.ID, text.Printable(c.slot), rec.RelPath)})
	if err != nil {
		return saved, created, err
	}
	if !created && (saved.State == catalog.StateMissing || saved.State == catalog.StateCorrupt) {
		saved, err = d.env.Catalog.Update(saved.ID, func(r *catalog.Recording) error {
			r.State, r.VerifiedAt = catalog.StateVerified, now
			return nil
		}, catalog.Event{Type: catalog.EventRestaged, Detail: "fresh verified copy from the camera"})
	}
	return saved, created, err
}

// offloaded counts a file that is safe in staging and the catalog.
func (d *Dock) offloaded(c candidate, saved catalog.Recording, created bool, now time.Time) {
	unregistered := created && saved.HasFlag(catalog.FlagUnregistered)
	if created && d.env.Metrics != nil {
		d.env.Metrics.Files.WithLabelValues(string(catalog.SourceDock)).Inc()
		d.env.Metrics.Bytes.WithLabelValues(string(catalog.SourceDock)).Add(float64(saved.Size))
		if unregistered {
			d.env.Metrics.Unregistered.WithLabelValues(d.cfg.ID).Inc()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.slots[c.slot]; s != nil && unregistered {
		s.Unregistered = cmp.Or(saved.Device, "no serial")
	}
	if s := d.slots[c.slot]; s != nil {
		s.DoneFiles++
		s.DoneBytes += saved.Size
		s.LastOffload = now
		s.LastError = ""
		if saved.Device != "" {
			s.Device = saved.Device
		}
	}
	delete(d.retry, c.path)
}

// releaseKnown deletes a file the catalog already holds and that was proven
// by hash to be its content, once the staged copy is proven good too.
func (d *Dock) releaseKnown(c candidate, known catalog.Recording) error {
	switch known.State {
	case catalog.StateVerified, catalog.StateArchived:
	default:
		return fmt.Errorf("recording %d is %s; the camera keeps its copy", known.ID, known.State)
	}
	if known.State == catalog.StateVerified {
		if err := d.env.Staging.Verify(known.SHA256, known.Size); err != nil {
			return err
		}
	}
	return d.release(c, known)
}

// release deletes the source from the camera and records it. The path is
// re-checked to be the very file that was copied, and the intent is recorded
// first so that a crash between the delete and its record is resolved at the
// next start (resumeReleases).
func (d *Dock) release(c candidate, rec catalog.Recording) error {
	if c.info.Size() != rec.Size {
		return fmt.Errorf("file on the camera is not the size recorded")
	}
	if string(rec.PendingRelease) != c.path {
		if _, err := d.env.Catalog.Update(rec.ID, func(r *catalog.Recording) error {
			r.PendingRelease = []byte(c.path)
			return nil
		}); err != nil {
			return err
		}
	}
	// Only the very file copied (inode, size, time), checked as it is unlinked.
	if err := c.root.Remove(c.rel, c.info); err != nil {
		return fmt.Errorf("delete from camera: %w", err)
	}
	d.finished(c, true)
	if s := d.cfg.Profile.DoneSuffix(); s != "" {
		if m, err := c.root.Lstat(c.rel + s); err == nil {
			if err := c.root.Remove(c.rel+s, m); err != nil {
				d.env.Log.Warn("could not remove completion marker", keyPath, text.Printable(c.path+s), keyErr, err)
			}
		}
	}
	d.recordRelease(rec, c.path, fmt.Sprintf("deleted from camera on dock %s", d.cfg.ID))
	return nil
}

// resumeReleases settles deletions a crash interrupted. A source still on the
// camera is left for the scan, which proves it by hash and deletes it; one
// that is gone was deleted before the crash.
func (d *Dock) resumeReleases() {
	recs, err := d.env.Catalog.PendingReleases(d.cfg.ID)
	if err != nil {
		d.env.Log.Error("pending releases unreadable", keyErr, err)
		return
	}
	for _, rec := range recs {
		path := string(rec.PendingRelease)
		if _, err := os.Lstat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		d.recordRelease(rec, path, fmt.Sprintf("deleted from camera on dock %s; confirmed absent after a restart", d.cfg.ID))
	}
}

// dropUnreferenced removes a blob just written for a copy that turned out to
// be bad, unless a catalogued recording shares its content. The camera still
// holds the file, so nothing is lost.
func (d *Dock) dropUnreferenced(sha string) {
	_, err := d.env.Staging.Remove(sha, func() (bool, error) {
		recs, err := d.env.Catalog.BySHA(sha)
		return len(recs) > 0, err
	})
	if err != nil {
		d.env.Log.Warn("could not remove unusable staged copy", keySHA, sha, keyErr, err)
	}
}

// outside reports a file whose path stopped leading to it beneath the
// dock (a folder swapped for a link): it stays where it is, counted as left
// on the camera until the next scan sees what the folder is now.
func (d *Dock) outside(c candidate, err error) {
	d.mu.Lock()
	if s := d.slots[c.slot]; s != nil {
		if s.Left == nil {
			s.Left = map[string]int{}
		}
		s.Left[leftOutside]++
		s.LastError = "a folder on the camera became a link; its files were not read"
	}
	d.mu.Unlock()
	d.skipOnce(c.path, leftOutside, err.Error())
	d.fail(c, ingest.ErrKindRead, err)
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
