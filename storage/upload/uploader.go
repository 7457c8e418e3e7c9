// Package upload moves verified recordings and the custody trail from the
// station to the archive, proves each on arrival, and records the proof.
package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"custodian/internal/digest"
	"custodian/storage/archive"
	"custodian/storage/catalog"
	"custodian/storage/staging"

	"golang.org/x/time/rate"
)

// Uploader defaults.
const (
	DefaultMaxUploads    = 4
	DefaultPollInterval  = 5 * time.Second
	DefaultCheckInterval = time.Minute
	DefaultMinBackoff    = 2 * time.Second
	DefaultMaxBackoff    = 10 * time.Minute
	DefaultMinLock       = time.Hour
)

// Config are the uploader's knobs.
type Config struct {
	Station string
	Version string // custodian version, written into every object's metadata
	// MaxUploads bounds the uploads in flight.
	MaxUploads int
	// BandwidthLimit caps the bytes per second read for upload, over all
	// uploads together; 0 is no limit.
	BandwidthLimit int64
	// PollInterval is how often the catalog is read for new verified records.
	PollInterval time.Duration
	// CheckInterval is how often an idle uploader proves the archive is reachable.
	CheckInterval time.Duration
	// Backoff after failures: doubling from MinBackoff, capped at MaxBackoff,
	// with jitter. Permanent failures (credentials, bucket, integrity) wait
	// MaxBackoff straight away: retried slowly, never given up.
	MinBackoff, MaxBackoff time.Duration
	// RetainUntil gives the lock date of a recording; it comes from the
	// retention policy (storage does not know the legal periods).
	RetainUntil func(catalog.Recording) time.Time
	// MinLock is the shortest lock an upload gets: a recording already past
	// its retention (a camera docked very late) is locked this long from
	// now, as S3 refuses a retain-until in the past, with room for clock skew.
	MinLock time.Duration
	Now     func() time.Time
}

func (c *Config) defaults() {
	if c.MaxUploads <= 0 {
		c.MaxUploads = DefaultMaxUploads
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MinLock <= 0 {
		c.MinLock = DefaultMinLock
	}
}

// Uploader moves verified recordings to the archive, oldest first. Its
// queue is the catalog itself (every record in StateVerified), and the
// state of a multipart upload is saved there, so nothing is lost or
// started over when custodian restarts. Local copies are never deleted here.
type Uploader struct {
	cfg     Config
	cat     *catalog.Catalog
	staging *staging.Staging
	store   archive.ObjectStore
	log     *slog.Logger
	m       *Metrics
	limiter *rate.Limiter
	wake    chan struct{}
}

// New builds an uploader; Run starts it.
func New(cfg Config, cat *catalog.Catalog, stage *staging.Staging, store archive.ObjectStore, log *slog.Logger, m *Metrics) (*Uploader, error) {
	cfg.defaults()
	if cfg.RetainUntil == nil {
		return nil, errors.New("uploader: no retention policy (RetainUntil)")
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	u := &Uploader{cfg: cfg, cat: cat, staging: stage, store: store, log: log, m: m, wake: make(chan struct{}, 1)}
	if cfg.BandwidthLimit > 0 {
		u.limiter = rate.NewLimiter(rate.Limit(cfg.BandwidthLimit), int(min(cfg.BandwidthLimit, staging.CopyBufferSize)))
	}
	return u, nil
}

// Wake makes Run look for work now instead of at the next poll.
func (u *Uploader) Wake() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// Log keys.
const (
	keyID      = "id"
	keySHA     = "sha256"
	keyKey     = "key"
	keyVersion = "version"
	keyErr     = "err"
	keyKind    = "kind"
	keyRetryIn = "retry_in"
)

// outcome is what one upload reports back to Run.
type outcome struct {
	id  uint64
	err error
	// storeWide: the failure says nothing about this record (the archive is
	// down or refuses us), so every upload pauses, not just this one.
	storeWide bool
	permanent bool
}

// Run uploads until ctx ends, then waits for the uploads in flight: they
// stop between requests and stay resumable.
func (u *Uploader) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	done := make(chan outcome, u.cfg.MaxUploads)
	inflight := map[uint64]string{} // id -> object key
	retryAt := map[uint64]time.Time{}
	failures := map[uint64]int{}
	var pauseUntil time.Time
	storeFailures := 0
	// probing: the archive failed as a whole; one upload at a time tests it
	// until one succeeds.
	probing := false

	// Say at once when the archive is unusable (credentials, bucket without
	// Object Lock), rather than at the first upload.
	u.check(ctx)
	lastCheck := u.cfg.Now()

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case o := <-done:
			delete(inflight, o.id)
			now := u.cfg.Now()
			if o.err == nil {
				delete(retryAt, o.id)
				delete(failures, o.id)
				storeFailures = 0
				pauseUntil = time.Time{}
				probing = false
				u.m.Reachable.Set(1)
				break
			}
			if o.storeWide {
				probing = true
				u.m.Reachable.Set(0)
				if now.Before(pauseUntil) {
					break // another upload of the same round; already paused
				}
				storeFailures++
				pauseUntil = now.Add(u.backoff(storeFailures, o.permanent))
				u.log.Warn("archive unavailable; uploads paused", keyErr, o.err, keyRetryIn, pauseUntil.Sub(now).Round(time.Second))
				break
			}
			failures[o.id]++
			retryAt[o.id] = now.Add(u.backoff(failures[o.id], o.permanent))
		case <-u.wake:
		case <-timer.C:
		}
		next := u.cfg.PollInterval
		now := u.cfg.Now()
		if now.Before(pauseUntil) {
			next = min(next, pauseUntil.Sub(now))
		} else {
			queue, err := u.queue()
			if err != nil {
				u.log.Error("archive queue", keyErr, err)
			} else {
				prune(retryAt, failures, queue)
			}
			limit := u.cfg.MaxUploads
			if probing {
				limit = 1
			}
			for _, r := range queue {
				if len(inflight) >= limit {
					break
				}
				key := ObjectKey(r)
				if _, busy := inflight[r.ID]; busy || keyBusy(inflight, key) {
					// The same content under the same key (one file docked
					// twice under two names): one upload, then the other
					// adopts its version.
					continue
				}
				if t, ok := retryAt[r.ID]; ok && now.Before(t) {
					next = min(next, t.Sub(now))
					continue
				}
				inflight[r.ID] = key
				wg.Add(1)
				go func() {
					defer wg.Done()
					done <- u.upload(ctx, r)
				}()
			}
			if len(inflight) == 0 && now.Sub(lastCheck) >= u.cfg.CheckInterval {
				lastCheck = now
				u.check(ctx)
			}
		}
		timer.Reset(max(next, time.Millisecond))
	}
}

func keyBusy(inflight map[uint64]string, key string) bool {
	for _, k := range inflight {
		if k == key {
			return true
		}
	}
	return false
}

// prune forgets the backoff of records that left the queue (archived,
// corrupt, missing).
func prune(retryAt map[uint64]time.Time, failures map[uint64]int, queue []catalog.Recording) {
	if len(retryAt) == 0 {
		return
	}
	queued := make(map[uint64]bool, len(queue))
	for _, r := range queue {
		queued[r.ID] = true
	}
	for id := range retryAt {
		if !queued[id] {
			delete(retryAt, id)
			delete(failures, id)
		}
	}
}

// check proves the archive reachable while there is nothing to upload.
func (u *Uploader) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := u.store.Check(ctx); err != nil {
		u.m.Reachable.Set(0)
		if ctx.Err() == nil {
			level := slog.LevelWarn
			if archive.KindOf(err).Permanent() {
				level = slog.LevelError
			}
			u.log.Log(ctx, level, "archive check failed", keyErr, err, keyKind, archive.KindOf(err))
		}
		return
	}
	u.m.Reachable.Set(1)
}

func (u *Uploader) backoff(n int, permanent bool) time.Duration {
	d := u.cfg.MaxBackoff
	if !permanent && n < 30 {
		d = min(u.cfg.MaxBackoff, u.cfg.MinBackoff<<(n-1))
	}
	// Full jitter on the upper half: stations restarted together spread out.
	return d/2 + rand.N(d/2+1)
}

// queue is every verified record, the longest waiting first, and it sets
// the backlog gauges.
func (u *Uploader) queue() ([]catalog.Recording, error) {
	recs, err := u.cat.List(catalog.Filter{State: catalog.StateVerified})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b catalog.Recording) int {
		if c := waitingSince(a).Compare(waitingSince(b)); c != 0 {
			return c
		}
		return int(a.ID) - int(b.ID)
	})
	var bytes int64
	for _, r := range recs {
		bytes += r.Size
	}
	u.m.Backlog.Set(float64(len(recs)))
	u.m.BacklogBytes.Set(float64(bytes))
	age := 0.0
	if len(recs) > 0 {
		age = max(0, u.cfg.Now().Sub(waitingSince(recs[0])).Seconds())
	}
	u.m.OldestAge.Set(age)
	return recs, nil
}

// waitingSince is when a record joined the queue; camera clocks are not
// trusted for this.
func waitingSince(r catalog.Recording) time.Time {
	if !r.VerifiedAt.IsZero() {
		return r.VerifiedAt
	}
	return r.ReceivedAt
}

// upload archives one record: re-verify the staged copy, put it, prove the
// result, then mark the record archived.
func (u *Uploader) upload(ctx context.Context, r catalog.Recording) outcome {
	start := u.cfg.Now()
	o := outcome{id: r.ID}
	if err := u.staging.Verify(r.SHA256, r.Size); err != nil {
		return u.localFailure(r, err)
	}
	f, err := os.Open(u.staging.Path(r.SHA256))
	if err != nil {
		return u.localFailure(r, err)
	}
	defer f.Close()

	req := archive.PutRequest{
		Key:         ObjectKey(r),
		SHA256:      r.SHA256,
		Size:        r.Size,
		Body:        u.body(ctx, f),
		Metadata:    ObjectMetadata(r, u.cfg.Version),
		RetainUntil: u.retainUntil(r),
		LegalHold:   r.LegalHold,
	}
	var parts []archive.UploadedPart
	if saved, ok, err := savedUpload(u.cat, r.ID); err != nil {
		return u.failed(r, o, err, archive.KindOf(err))
	} else if ok {
		req.Resume = &saved
		parts = saved.Parts
		u.log.Info("resuming multipart upload", keyID, r.ID, keySHA, r.SHA256, keyKey, req.Key, "parts_done", len(saved.Parts))
	}
	req.Save = func(m archive.MultipartUpload) error {
		parts = m.Parts
		return saveUpload(u.cat, r.ID, m)
	}

	info, err := u.store.Put(ctx, req)
	if err == nil {
		err = info.Check(req, parts)
	}
	if err != nil {
		if ctx.Err() != nil {
			o.err = ctx.Err()
			return o // shutting down; resumable
		}
		if errors.Is(err, digest.ErrMismatch) || archive.KindOf(err) == archive.KindRejected {
			// The server refused the body, or the bytes read differ from
			// the recorded hash: look at the staged copy again.
			if verr := u.staging.Verify(r.SHA256, r.Size); verr != nil {
				return u.localFailure(r, verr)
			}
		}
		return u.failed(r, o, err, archive.KindOf(err))
	}

	_, err = u.cat.Update(r.ID, func(x *catalog.Recording) error {
		x.State = catalog.StateArchived
		x.ArchiveKey = info.Key
		x.ArchiveVersion = info.VersionID
		x.ArchivedAt = u.cfg.Now().UTC()
		x.RetainUntil = info.RetainUntil
		x.LegalHold = info.LegalHold
		x.UploadAttempts = 0
		x.LastUploadError = ""
		return nil
	}, catalog.Event{Type: catalog.EventArchived, Detail: fmt.Sprintf("%s version %s, %s until %s, legal hold %v",
		info.Key, info.VersionID, info.RetentionMode, info.RetainUntil.Format(time.RFC3339), info.LegalHold)})
	if err != nil {
		u.m.Errors.WithLabelValues(errKindCatalog).Inc()
		o.err = err
		return o
	}
	u.m.Bytes.Add(float64(r.Size))
	u.m.Duration.Observe(u.cfg.Now().Sub(start).Seconds())
	u.log.Info("archived", keyID, r.ID, keySHA, r.SHA256, keyKey, info.Key, keyVersion, info.VersionID,
		"retain_until", info.RetainUntil.Format(time.RFC3339), "legal_hold", info.LegalHold)
	return o
}

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

// body applies the bandwidth limit to reads of the staged copy.
func (u *Uploader) body(ctx context.Context, f io.ReaderAt) io.ReaderAt {
	if u.limiter == nil {
		return f
	}
	return limitedReaderAt{ctx: ctx, r: f, lim: u.limiter}
}

type limitedReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
	lim *rate.Limiter
}

func (l limitedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		chunk := p[n:min(len(p), n+l.lim.Burst())]
		if err := l.lim.WaitN(l.ctx, len(chunk)); err != nil {
			return n, err
		}
		m, err := l.r.ReadAt(chunk, off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// retainUntil is retention's date for r, moved to MinLock from now when it
// has passed already: S3 refuses a lock date in the past. The planner
// still sees the date retention gives.
func (u *Uploader) retainUntil(r catalog.Recording) time.Time {
	t := u.cfg.RetainUntil(r)
	if floor := u.cfg.Now().Add(u.cfg.MinLock); t.Before(floor) {
		t = floor
	}
	if t2 := t.Truncate(time.Second); !t2.Equal(t) {
		t = t2.Add(time.Second)
	}
	return t.UTC()
}
