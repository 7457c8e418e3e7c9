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
	"strings"
	"syscall"
	"time"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/internal/config"
)

// apiClient is how every subcommand talks to the running daemon: the base URL
// comes from admin.listen, HTTPS is trusted through admin.tls_cert_file.
// Every call is authenticated: by the caller's token file, or on the
// server itself by their Linux account through admin.socket.
type apiClient struct {
	base   string
	listen string
	http   *http.Client
	token  string // empty on the socket, or without credentials
	socket bool   // the admin socket vouches for the caller
	actor  string // sent only when the caller named themselves (--by)
}

// apiTimeout bounds how long one API call may go without a byte of its
// answer: the wait for the answer to begin, then each pause in it. A long
// answer that keeps coming (a plan of a million steps, a listing) is never
// cut short; a daemon that stops answering is noticed as soon as ever.
const apiTimeout = 30 * time.Second

// tokenFileEnv names the caller's token file when --token-file is not given.
const tokenFileEnv = "CUSTODIAN_TOKEN_FILE"

// newClient builds a client with the caller's credentials: the token file
// in $CUSTODIAN_TOKEN_FILE, else the admin socket when it is there, else
// the deprecated shared token when this account may read it.
func newClient(cfg *config.Config) (*apiClient, error) {
	c := &apiClient{base: apiBase(cfg.Admin.Listen), listen: cfg.Admin.Listen, http: &http.Client{Timeout: apiTimeout}}
	if f := os.Getenv(tokenFileEnv); f != "" {
		return c, c.useTokenFile(cfg, f)
	}
	if p := cfg.Admin.Socket; p != "" {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == os.ModeSocket {
			c.useSocket(p)
			return c, nil
		}
	}
	if err := c.useTLS(cfg); err != nil {
		return nil, err
	}
	if cfg.Admin.TokenFile != "" {
		c.token, _ = cfg.Admin.ReadToken() // not ours to read: go without
	}
	return c, nil
}

// useTokenFile authenticates with the token in path, over TCP.
func (c *apiClient) useTokenFile(cfg *config.Config, path string) error {
	tok, err := config.ReadTokenFile(path)
	if err != nil {
		return err
	}
	c.token, c.socket = tok, false
	c.base, c.http = apiBase(cfg.Admin.Listen), &http.Client{Timeout: apiTimeout}
	return c.useTLS(cfg)
}

// useSocket talks to the daemon through its admin socket.
func (c *apiClient) useSocket(path string) {
	c.socket, c.base, c.listen = true, "http://custodian", path
	c.http.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}
}

// useTLS trusts admin.tls_cert_file for HTTPS.
func (c *apiClient) useTLS(cfg *config.Config) error {
	if cfg.Admin.TLSCertFile == "" {
		return nil
	}
	pem, err := os.ReadFile(cfg.Admin.TLSCertFile)
	if err != nil {
		return fmt.Errorf("admin.tls_cert_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("admin.tls_cert_file %s: no PEM certificate", cfg.Admin.TLSCertFile)
	}
	c.base = "https" + strings.TrimPrefix(c.base, "http")
	c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return nil
}

// readClient parses a read-only subcommand's flags (--config, --json and
// what setup adds), loads the config and builds the client. positional
// arguments are allowed only when setup asks for them (nargs).
func readClient(name string, args []string, stderr io.Writer, nargs int, setup func(*flag.FlagSet)) (*config.Config, *apiClient, bool, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", defaultConfigPath, "config file")
	asJSON := fs.Bool("json", false, "print JSON")
	tokenFile := fs.String("token-file", "", "file holding your API token (default $"+tokenFileEnv+", else the admin socket)")
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
	if err == nil && *tokenFile != "" {
		err = c.useTokenFile(cfg, *tokenFile)
	}
	if err != nil {
		return nil, nil, false, nil, err
	}
	return cfg, c, *asJSON, fs.Args(), nil
}

// withToken makes sure the client can change things. The daemon records
// the authenticated user; actor, when given, must be that user's name.
func (c *apiClient) withToken(actor string) error {
	if c.token == "" && !c.socket {
		return usageError{fmt.Errorf("no credentials: give --token-file or $%s, or on the server use admin.socket", tokenFileEnv)}
	}
	if actor != "" {
		if _, err := admin.ValidActor(actor); err != nil {
			return usageError{fmt.Errorf("--by: %w", err)}
		}
	}
	c.actor = actor
	return nil
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
	return c.doRaw(ctx, method, path, in, func(res *http.Response) error {
		if out == nil {
			return nil
		}
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return fmt.Errorf("admin API %s %s: %w", method, path, err)
		}
		return nil
	})
}

// doRaw makes one call and hands a successful answer to read.
func (c *apiClient) doRaw(ctx context.Context, method, path string, in any, read func(*http.Response) error) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, idle := idleTimeout(ctx, c.http.Timeout)
	defer idle.stop()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.actor != "" && method != http.MethodGet && method != http.MethodHead {
		req.Header.Set(admin.ActorHeader, c.actor)
	}
	hc := *c.http
	hc.Timeout = 0 // idle's, per pause, instead
	res, err := hc.Do(req)
	if err == nil {
		res.Body = idle.reader(res.Body)
	}
	err = idle.explain(err)
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
	return idle.explain(read(res))
}

// idle cancels a call that goes d without a byte of its answer.
type idle struct {
	ctx   context.Context
	d     time.Duration
	timer *time.Timer // nil: no limit
}

var errIdle = errors.New("no answer")

func idleTimeout(ctx context.Context, d time.Duration) (context.Context, *idle) {
	if d <= 0 {
		return ctx, &idle{ctx: ctx}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	return ctx, &idle{ctx: ctx, d: d, timer: time.AfterFunc(d, func() {
		cancel(fmt.Errorf("%w for %s", errIdle, d))
	})}
}

func (i *idle) stop() {
	if i.timer != nil {
		i.timer.Stop()
	}
}

// reader resets the limit on every byte that arrives.
func (i *idle) reader(r io.ReadCloser) io.ReadCloser {
	if i.timer == nil {
		return r
	}
	return idleReader{r, i}
}

type idleReader struct {
	io.ReadCloser
	i *idle
}

func (r idleReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.i.timer.Reset(r.i.d)
	}
	return n, err
}

// explain says an error that came of the limit is that, not a cancel.
func (i *idle) explain(err error) error {
	if cause := context.Cause(i.ctx); err != nil && errors.Is(cause, errIdle) {
		return cause
	}
	return err
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

// withTimeout is c with another time limit for one answer, for the calls
// whose single answer takes long by nature (audit verify).
func (c *apiClient) withTimeout(d time.Duration) *apiClient {
	cp := *c
	hc := *c.http
	hc.Timeout = d
	cp.http = &hc
	return &cp
}
