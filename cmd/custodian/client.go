package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strings"
	"syscall"
	"time"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/internal/config"
)

// apiClient is how every subcommand talks to the running daemon: the base URL
// comes from admin.listen, HTTPS is trusted through admin.tls_cert_file, and
// mutating calls carry the token from admin.token_file and the caller's name.
type apiClient struct {
	base   string
	listen string
	http   *http.Client
	token  string // empty for a read-only client
	actor  string
}

// apiTimeout bounds one API call.
const apiTimeout = 30 * time.Second

// newClient builds a read-only client; withToken adds what mutating calls need.
func newClient(cfg *config.Config) (*apiClient, error) {
	c := &apiClient{base: apiBase(cfg.Admin.Listen), listen: cfg.Admin.Listen, http: &http.Client{Timeout: apiTimeout}}
	if cfg.Admin.TLSCertFile != "" {
		pem, err := os.ReadFile(cfg.Admin.TLSCertFile)
		if err != nil {
			return nil, fmt.Errorf("admin.tls_cert_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("admin.tls_cert_file %s: no PEM certificate", cfg.Admin.TLSCertFile)
		}
		c.base = "https" + strings.TrimPrefix(c.base, "http")
		c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return c, nil
}

// readClient parses a read-only subcommand's flags (--config, --json and
// what setup adds), loads the config and builds the client. positional
// arguments are allowed only when setup asks for them (nargs).
func readClient(name string, args []string, stderr io.Writer, nargs int, setup func(*flag.FlagSet)) (*config.Config, *apiClient, bool, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", defaultConfigPath, "config file")
	asJSON := fs.Bool("json", false, "print JSON")
	if setup != nil {
		setup(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, false, nil, err
		}
		return nil, nil, false, nil, usageError{err}
	}
	if fs.NArg() != nargs {
		return nil, nil, false, nil, usageError{fmt.Errorf("%s: want %d argument(s), got %d", name, nargs, fs.NArg())}
	}
	cfg, err := loadConfig(*config)
	if err != nil {
		return nil, nil, false, nil, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, nil, false, nil, err
	}
	return cfg, c, *asJSON, fs.Args(), nil
}

// withToken makes the client able to change things, in actor's name.
func (c *apiClient) withToken(cfg *config.Config, actor string) error {
	if cfg.Admin.TokenFile == "" {
		return errors.New("admin.token_file is not set: the daemon accepts no changes")
	}
	tok, err := cfg.Admin.ReadToken()
	if err != nil {
		return err
	}
	if actor == "" {
		actor = callerName()
	}
	if actor, err = admin.ValidActor(actor); err != nil {
		return usageError{fmt.Errorf("--actor: %w", err)}
	}
	c.token, c.actor = tok, actor
	return nil
}

// callerName is the person at the terminal: the sudo caller before root,
// else the account the command runs as.
func callerName() string {
	for _, k := range []string{"SUDO_USER", "USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" && v != "root" {
			return v
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// apiError is an error answer of the admin API.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("admin API: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// errNotRunning says nothing answers on the admin address.
var errNotRunning = errors.New("custodian is not running")

func (c *apiClient) get(ctx context.Context, path string, q url.Values, out any) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return c.do(ctx, http.MethodGet, path, nil, out)
}

func (c *apiClient) post(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPost, path, in, out)
}

func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet && method != http.MethodHead {
		if c.token == "" {
			return errors.New("internal: mutating call on a read-only client")
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set(admin.ActorHeader, c.actor)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w (nothing answers at %s)", errNotRunning, c.listen)
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL holds nothing secret, but says nothing new either
		}
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var e api.ErrorResponse
		if err := json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&e); err != nil || e.Error == "" {
			e.Error = "no error message"
		}
		return &apiError{Status: res.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	return nil
}

// adminTLS loads the admin API's certificate and key, when configured.
func adminTLS(c config.AdminConfig) (*tls.Config, error) {
	if c.TLSCertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("admin TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// apiBase turns a listen address into a URL to reach it from this host.
func apiBase(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
