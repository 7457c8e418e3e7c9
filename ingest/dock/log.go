package dock

// Log keys; one name for one thing across every line (the room recorder
// uses the same names).
const (
	keyDock    = "dock"
	keyErr     = "err"
	keyPath    = "path"
	keyReason  = "reason"
	keyKind    = "kind"
	keyRetryAt = "retry_at"
	keyID      = "id"
	keySHA     = "sha256"
	keySize    = "size"
	keyDevice  = "device"
	keyOfficer = "officer"
	keyFlags   = "flags"
	keySlot    = "slot"
	keyOffset  = "offset"
	keyBasis   = "basis"
)
