package room

import "time"

// Defaults of Config.
const (
	DefaultSegmentDuration = 10 * time.Minute
	// DefaultFragmentDuration is how much media a fragment holds before it is
	// written and fdatasync'ed: a power cut loses at most about this much.
	DefaultFragmentDuration = time.Second
	// MaxFragmentDuration is the most a power cut may cost.
	MaxFragmentDuration = 2 * time.Second

	DefaultQueueSize    = 2048
	DefaultStallTimeout = 10 * time.Second
	DefaultBackoffMin   = time.Second
	DefaultBackoffMax   = 30 * time.Second
	// DefaultFastRetry is how long into an outage custodian retries every
	// BackoffMin before it backs off.
	DefaultFastRetry = time.Minute
	// DefaultAlertAfter is how long a room may go without recording before
	// it is an alert.
	DefaultAlertAfter = time.Minute
	// DefaultMaxDrift is how far a segment's media time may differ from
	// the station time its units took to arrive before it is flagged.
	DefaultMaxDrift = 2 * time.Second
	// clockStepLimit is how far the station's wall clock may drift from its
	// monotonic clock between two units before it counts as a step.
	clockStepLimit = time.Second
)

// Room transports.
const (
	TransportTCP = "tcp"
	TransportUDP = "udp"
)

// Config is one interview room's feed.
type Config struct {
	ID string
	// URL is rtsp:// or rtsps://, possibly with user:password. It is a
	// secret: custodian never logs it, only Redacted(URL).
	URL string
	// Listen, for a room whose recorder pushes its stream (RTSP ANNOUNCE
	// and RECORD) rather than being pulled, is the rtsp:// URL custodian
	// takes it on: host:port and the room's path, never credentials. URL is
	// then empty. The rooms that listen on one host:port share a Server.
	Listen string
	// Publisher is what the pushing recorder must authenticate with.
	Publisher Credentials
	Transport string // tcp (default) or udp; a push is taken over TCP
	Segment   time.Duration
	Fragment  time.Duration
	// Dir is the room's directory (<data_dir>/rooms/<id>); open segments live
	// in Dir/open until they are sealed into staging.
	Dir          string
	QueueSize    int
	StallTimeout time.Duration
	// BackoffMin is the wait between attempts through the first FastRetry
	// of an outage; after that the wait grows with the outage up to
	// BackoffMax (see retryWait).
	BackoffMin time.Duration
	BackoffMax time.Duration
	FastRetry  time.Duration
	// AlertAfter is how long the room may go without recording before the
	// admin status alerts; the room only reports it.
	AlertAfter time.Duration
	// MaxDrift: a segment whose camera media time differs from the station
	// time it took to arrive by more than this is flagged time-drift.
	MaxDrift time.Duration
}

func (c *Config) defaults() {
	if c.Transport == "" {
		c.Transport = TransportTCP
	}
	if c.Segment <= 0 {
		c.Segment = DefaultSegmentDuration
	}
	if c.Fragment <= 0 || c.Fragment > MaxFragmentDuration {
		c.Fragment = DefaultFragmentDuration
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffMin)
	}
	if c.FastRetry <= 0 {
		c.FastRetry = DefaultFastRetry
	}
	if c.AlertAfter <= 0 {
		c.AlertAfter = DefaultAlertAfter
	}
	if c.MaxDrift <= 0 {
		c.MaxDrift = DefaultMaxDrift
	}
}
