package upload

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"time"

	"custodian/internal/digest"
	"custodian/storage/archive"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// Error kinds of the upload error metric beside the archive's ErrorKinds.
const (
	errKindLocal   = "local"   // the staged copy could not be read
	errKindCorrupt = "corrupt" // the staged copy no longer matches its hash
	errKindCatalog = "catalog"
)

// localFailure handles a staged copy that cannot be read or is not intact.
// A copy that no longer matches its hash is never uploaded: the record
// moves to corrupt (or missing) with a custody event, and a fresh copy
// from the camera is the only way back.
func (u *Uploader) localFailure(r catalog.Recording, err error) outcome {
	o := outcome{id: r.ID, err: err}
	state, ev := catalog.State(""), ""
	switch {
	case errors.Is(err, digest.ErrMismatch), errors.Is(err, staging.ErrShortCopy):
		state, ev = catalog.StateCorrupt, catalog.EventCorrupt
		u.m.Errors.WithLabelValues(errKindCorrupt).Inc()
	case errors.Is(err, fs.ErrNotExist):
		state, ev = catalog.StateMissing, catalog.EventMissing
		u.m.Errors.WithLabelValues(errKindCorrupt).Inc()
	default:
		u.m.Errors.WithLabelValues(errKindLocal).Inc()
		u.log.Error("staged copy unreadable; upload retried later", keyID, r.ID, keySHA, r.SHA256, keyErr, err)
		return o
	}
	if _, uerr := u.cat.Update(r.ID, func(x *catalog.Recording) error { x.State = state; return nil }, catalog.Event{Type: ev, Detail: "before upload: " + err.Error()}); uerr != nil {
		o.err = errors.Join(err, uerr)
		return o
	}
	if saved, ok, _ := savedUpload(u.cat, r.ID); ok {
		// Best effort: the bucket's lifecycle rule aborts it otherwise.
		if aerr := u.store.Abort(context.Background(), ObjectKey(r), saved.UploadID); aerr != nil {
			u.log.Warn("abort multipart upload", keyID, r.ID, keySHA, r.SHA256, keyErr, aerr)
		}
	}
	if derr := u.cat.DropUpload(r.ID); derr != nil {
		o.err = errors.Join(err, derr)
	}
	u.log.Error("staged copy not intact; not uploaded", keyID, r.ID, keySHA, r.SHA256, "state", state, keyErr, err)
	return o
}

// failed records a failed attempt on the record and decides how to wait.
func (u *Uploader) failed(r catalog.Recording, o outcome, err error, kind archive.ErrorKind) outcome {
	o.err = err
	label := string(kind)
	if kind == "" {
		label = errKindLocal
	}
	u.m.Errors.WithLabelValues(label).Inc()
	o.permanent = kind == "" || kind.Permanent()
	o.storeWide = kind == archive.KindNetwork || kind == archive.KindServer || kind == archive.KindAuth || kind == archive.KindBucket
	msg := err.Error()
	var events []catalog.Event
	if o.permanent && msg != r.LastUploadError {
		events = append(events, catalog.Event{Type: catalog.EventUploadFailed, Detail: msg})
	}
	saved, uerr := u.cat.Update(r.ID, func(x *catalog.Recording) error {
		x.UploadAttempts++
		x.LastUploadError = msg
		return nil
	}, events...)
	if uerr != nil {
		o.err = errors.Join(err, uerr)
	}
	level := slog.LevelWarn
	if o.permanent {
		level = slog.LevelError
	}
	u.log.Log(context.Background(), level, "upload failed", keyID, r.ID, keySHA, r.SHA256, keyKind, label,
		"attempts", saved.UploadAttempts, keyErr, err)
	return o
}

func (u *Uploader) backoff(n int, permanent bool) time.Duration {
	d := u.cfg.MaxBackoff
	if !permanent && n < 30 {
		d = min(u.cfg.MaxBackoff, u.cfg.MinBackoff<<(n-1))
	}
	// Full jitter on the upper half: stations restarted together spread out.
	return d/2 + rand.N(d/2+1)
}
