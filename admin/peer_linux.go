package admin

import (
	"errors"
	"net"

	"golang.org/x/sys/unix"
)

// socketPeerUID asks the kernel (SO_PEERCRED) who is on the other end.
func socketPeerUID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	if cred.Uid == overflowUID {
		return 0, errors.New("peer uid not mapped into the daemon's user namespace")
	}
	return cred.Uid, nil
}
