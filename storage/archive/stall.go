package archive

import (
	"context"
	"net"
	"time"
)

// stallDialer dials connections whose every write must make progress
// within stall: a peer that stops reading (a closed TCP window) would
// otherwise hold an upload, silently, as long as it likes. Reads are left
// to the transport's response header timeout; a read deadline here would
// cut the transport's idle wait for the next response.
func stallDialer(stall time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &stallConn{Conn: c, stall: stall}, nil
	}
}

type stallConn struct {
	net.Conn
	stall time.Duration
}

// Write gives each write stall to be accepted, in pieces small enough that
// a slow but moving link never trips it.
func (c *stallConn) Write(p []byte) (int, error) {
	const piece = 64 << 10
	n := 0
	for n < len(p) {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.stall)); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(p[n:min(len(p), n+piece)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
