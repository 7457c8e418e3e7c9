// Package systemd holds no code: it is custodian's systemd unit and its
// companion files, with tests that check them using systemd's own tools.
package systemd
