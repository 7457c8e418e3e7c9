// Package upload moves verified recordings and the custody trail from the
// station to the archive, proves each on arrival, and records the proof.
package upload

import (
	"errors"
	"log/slog"
	"time"

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
