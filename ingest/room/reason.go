package room

import (
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

// Why a room is not recording, as its status and alert say it.
const (
	ReasonConnecting  = "connecting"   // no attempt has ended yet
	ReasonAuth        = "auth refused" // the camera answered 401 or 403: check the URL's credentials
	ReasonUnreachable = "unreachable"  // no connection: refused, no route, no name, timed out
	ReasonNoMedia     = "no media"     // connected, but nothing recordable arrives
	ReasonOther       = "other"        // the last error says what
	// ReasonWaiting: the room listens and no recorder pushes to it.
	ReasonWaiting = "waiting for recorder"
)

// downReason classifies the error that ended an attempt to record.
func downReason(err error) string {
	var status liberrors.ErrClientBadStatusCode
	var dns *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &status):
		if status.Code == base.StatusUnauthorized || status.Code == base.StatusForbidden {
			return ReasonAuth
		}
		return ReasonOther
	case errors.Is(err, errStall), errors.Is(err, ErrNoMedia):
		return ReasonNoMedia
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &dns):
		return ReasonUnreachable
	case errors.As(err, &netErr) && netErr.Timeout():
		return ReasonUnreachable
	case isNetError(err):
		return ReasonUnreachable
	}
	return ReasonOther
}

func isNetError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}
