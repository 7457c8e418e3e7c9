// Package admin is the station administrators' surface: the HTTP API the CLI
// talks to, the status page and the Prometheus metrics.
package admin

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"custodian/admin/api"
	"custodian/hardware/clock"
	"custodian/hardware/disk"
	"custodian/storage/catalog"
	"custodian/storage/export"
)

// Catalog is what the admin surface reads from the catalog.
type Catalog interface {
	// The listings stop when their request's context ends.
	ListContext(context.Context, catalog.Filter) ([]catalog.Recording, error)
	ListPageContext(context.Context, catalog.Filter) ([]catalog.Recording, catalog.Cursor, error)
	Get(id uint64) (catalog.Recording, error)
	Append(events ...catalog.Event) error
	Counts() (map[catalog.State]int, error)
	Held() (int, error)
	RecentEvents(n int) ([]catalog.Event, error)
}

var _ Catalog = (*catalog.Catalog)(nil)

// Config of the admin server.
type Config struct {
	Station string
	Version string
	// Location is the station's zone, for dates given without one.
	Location *time.Location
	// Status returns the live state of the sources; nil leaves docks, rooms
	// and reconcile out of the status.
	Status func() Sources
	// Health returns the latest storage health sample; nil when not watched.
	Health func() disk.Report
	// Rule is the retention rule in force and since when; nil when
	// the server does not know it.
	Rule *api.Rule
	// Clock returns the latest check of the station clock; nil when not
	// watched.
	Clock func() clock.State
	// MaxResults caps one page of a listing.
	MaxResults int
	// Now is the clock of the status page.
	Now func() time.Time
	// Retention serves holds, releases, cases, plans and reports; nil
	// leaves those routes out.
	Retention Retention
	// Users may log in (admin.users_file).
	Users []User
	// Token is the deprecated shared bearer token (admin.token_file): it acts
	// as the supervisor SharedTokenUser. Empty turns it off.
	Token string
	// AccountName is the local account of an admin socket peer's uid;
	// AccountName (the system's user database) by default.
	AccountName func(uid uint32) (string, error)
	// SessionTTL is how long a status page login lasts.
	SessionTTL time.Duration
	// TLS, when set, serves HTTPS.
	TLS *tls.Config
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// ReadHeaderTimeout and ReadTimeout bound how long a client may take to
	// send its request, so slow clients cannot hold connections open.
	ReadHeaderTimeout, ReadTimeout time.Duration
	// Rooms, when set, serves the interview-room routes (rooms.go).
	Rooms Rooms
	// Export, when set, serves a case's court export (export.go);
	// ExportGate decides who may (nil: RequireSupervisor).
	Export     *export.Exporter
	ExportGate ExportGate
}

// Defaults of the server timeouts.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
)

// DefaultMaxResults caps a page of a listing.
const DefaultMaxResults = 10000

// Server serves the admin API and metrics.
type Server struct {
	cfg  Config
	cat  Catalog
	reg  *prometheus.Registry
	log  *slog.Logger
	mux  *http.ServeMux
	page *template.Template

	users        *users
	sessions     *sessions
	authFailures prometheus.Counter
	inFlight     *prometheus.GaugeVec
}

// New builds the admin server; reg is the daemon's own metrics registry.
func New(cfg Config, cat Catalog, reg *prometheus.Registry, log *slog.Logger) *Server {
	if cfg.MaxResults == 0 {
		cfg.MaxResults = DefaultMaxResults
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.AccountName == nil {
		cfg.AccountName = AccountName
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, cat: cat, reg: reg, log: log, mux: http.NewServeMux(),
		users: newUsers(cfg.Users, cfg.Token), sessions: newSessions(cfg.SessionTTL, cfg.Now)}
	switch {
	case cfg.Token != "":
		log.Warn(SharedTokenDeprecation)
	case len(cfg.Users) == 0:
		log.Warn("admin: no users (admin.users_file) and no token: only /healthz and /metrics answer")
	}
	s.page = template.Must(s.newPage()) // embedded; a broken template fails every test
	s.authFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "custodian_admin_auth_failures_total",
		Help: "Admin calls and logins refused for missing, wrong or disabled credentials.",
	})
	s.inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "custodian_admin_requests_in_flight",
		Help: "Admin requests being answered now, by route; one that stays up is work nobody may be waiting for.",
	}, []string{"route"})
	reg.MustRegister(newCollector(cat, cfg.Health), s.authFailures, s.inFlight)
	if cfg.Clock != nil {
		reg.MustRegister(newClockCollector(cfg.Clock))
	}
	if cfg.Retention != nil {
		reg.MustRegister(newApprovalsGauge(s))
	}
	s.mux.HandleFunc("GET /{$}", s.statusPage)
	s.mux.Handle("GET /static/", staticFiles())
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.loginRoutes()
	s.mux.HandleFunc("GET /api/v1/recordings", s.recordings)
	s.mux.HandleFunc("GET /api/v1/status", s.status)
	if rc, ok := cat.(RoomCatalog); ok && cfg.Rooms != nil {
		s.roomRoutes(rc)
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.routes()
	return s
}

// Handler is the whole admin surface, guarded.
func (s *Server) Handler() http.Handler { return s.track(s.guard(s.mux)) }

// track counts the requests being answered, by the route that answers
// them (its pattern, so the label takes few values).
func (s *Server) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, route := s.mux.Handler(r)
		if route == "" {
			route = "none"
		}
		g := s.inFlight.WithLabelValues(route)
		g.Inc()
		defer g.Dec()
		next.ServeHTTP(w, r)
	})
}

// SharedTokenDeprecation is logged at start and shown on the status page
// while the shared token is configured.
const SharedTokenDeprecation = "admin.token_file is deprecated and will be removed in the next release: " +
	"everyone holding it acts as the supervisor " + SharedTokenUser + "; give each person a user (custodian user add) in admin.users_file"

// Serve answers on ln until ctx is done, then shuts down within a few
// seconds. On a Unix socket (admin.socket) the kernel says who connected,
// and that account's custodian user is the caller; TLS is for TCP only.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	_, unix := ln.(*net.UnixListener)
	if s.cfg.TLS != nil && !unix {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if unix {
		srv.ConnContext = withPeer
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	if _, err := s.cat.Counts(); err != nil {
		writeError(w, http.StatusServiceUnavailable, "catalog unreadable")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func id(key, v string) (string, error) {
	if len(v) == 0 || len(v) > 32 {
		return "", fmt.Errorf("%s: want 1-32 characters", key)
	}
	for _, c := range []byte(v) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "", fmt.Errorf("%s: only letters, digits, '.', '_' and '-'", key)
		}
	}
	return v, nil
}

// ParseTime reads RFC 3339, or a date or date-time in the station's zone.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want 2026-11-21, 2026-11-21T08:30 or RFC 3339", truncate(s, 40))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, api.ErrorResponse{Error: msg})
}
