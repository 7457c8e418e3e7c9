package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"golang.org/x/sync/errgroup"

	"custodian/admin"
	"custodian/internal/config"
)

// adminUsers reads who may use the admin surface: admin.users_file, and
// the deprecated shared token of admin.token_file.
func adminUsers(c config.AdminConfig) ([]admin.User, string, error) {
	var users []admin.User
	if c.UsersFile != "" {
		b, err := c.ReadUsersFile()
		if err != nil {
			return nil, "", configError{err}
		}
		if users, err = admin.ParseUsers(b); err != nil {
			return nil, "", configError{fmt.Errorf("admin.users_file %s: %w", c.UsersFile, err)}
		}
	}
	var token string
	if c.TokenFile != "" {
		var err error
		if token, err = c.ReadToken(); err != nil {
			return nil, "", configError{err}
		}
	}
	return users, token, nil
}

// listenSocket opens admin.socket for the CLI on this server: a stale
// socket from a crash is replaced; a live one, or anything else at the
// path, is refused; the mode lets the daemon's group connect (0660).
func listenSocket(path string) (net.Listener, error) {
	if path == "" {
		return nil, nil
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("admin.socket %s: exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin.socket %s: another process answers there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin.socket: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	return ln, nil
}

// serveAdmin serves the admin surface on every listener until ctx is done.
func serveAdmin(ctx context.Context, srv *admin.Server, lns ...net.Listener) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, ln := range lns {
		if ln != nil {
			g.Go(func() error { return srv.Serve(ctx, ln) })
		}
	}
	return g.Wait()
}
