//go:build !linux

package admin

import (
	"errors"
	"net"
)

// socketPeerUID: peer credentials are read only on Linux.
func socketPeerUID(*net.UnixConn) (uint32, error) {
	return 0, errors.New("admin socket peer credentials need Linux")
}
