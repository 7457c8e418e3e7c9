package admin

import (
	"context"
	"net"
	"os/user"
	"strconv"
)

type peerKey struct{}

// peerUID is the Unix uid of the admin socket's peer, when the request
// came through it.
func peerUID(ctx context.Context) (uint32, bool) {
	uid, ok := ctx.Value(peerKey{}).(uint32)
	return uid, ok
}

// withPeer records the kernel's word on who connected to the admin socket.
// A connection whose peer cannot be read gets no uid, and so no access.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	uid, err := socketPeerUID(uc)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, uid)
}

// overflowUID is what the kernel reports for a uid not mapped into the
// daemon's user namespace (systemd's PrivateUsers=): it names nobody.
const overflowUID = 65534

// AccountName is the local account of uid, from the system's user database.
func AccountName(uid uint32) (string, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return "", err
	}
	return u.Username, nil
}
