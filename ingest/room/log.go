package room

// Log keys; one name for one thing across every line (the dock watcher
// uses the same names).
const (
	keyErr       = "err"
	keyPath      = "path"
	keyReason    = "reason"
	keyID        = "id"
	keySHA       = "sha256"
	keySize      = "size"
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
	keyListen    = "listen"
	keyRemote    = "remote" // a pushing recorder's ip:port
)
