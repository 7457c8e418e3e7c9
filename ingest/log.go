package ingest

// Log keys; one name for one thing across every line.
const (
	keyDock      = "dock"
	keyErr       = "err"
	keyPath      = "path"
	keyReason    = "reason"
	keyKind      = "kind"
	keyRetryAt   = "retry_at"
	keyID        = "id"
	keySHA       = "sha256"
	keySize      = "size"
	keyDevice    = "device"
	keyOfficer   = "officer"
	keyFlags     = "flags"
	keyRoom      = "room"
	keyRetryIn   = "retry_in"
	keySegment   = "segment"
	keyURL       = "url" // always Redacted
	keyCodecs    = "codecs"
	keyTransport = "transport"
	keyDropped   = "dropped"
	keyStart     = "start"
	keyEnd       = "end"
	keyDuration  = "duration"
)
