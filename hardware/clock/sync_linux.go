package clock

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// ReadSync asks the kernel with adjtimex(2), read-only (modes 0), which needs
// no privilege; a seccomp filter may still refuse it (systemd's
// ProtectClock=yes and ~@clock do).
func ReadSync() (Sync, error) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return Sync{}, fmt.Errorf("adjtimex: %w", err)
	}
	return Sync{
		Known:        true,
		Synchronised: state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0,
		MaxError:     time.Duration(tx.Maxerror) * time.Microsecond,
	}, nil
}
