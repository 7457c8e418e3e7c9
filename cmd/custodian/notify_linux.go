package main

import (
	"fmt"
	"net"
)

// sdNotify sends one message to systemd's notify socket (sd_notify(3)): a
// datagram of KEY=VALUE lines. A socket name starting with '@' is abstract;
// the net package maps it.
func sdNotify(socket, state string) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}
