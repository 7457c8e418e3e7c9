package admin

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"custodian/admin/api"
	"custodian/hardware/disk"
	"custodian/storage/catalog"
)

//go:embed web
var webFS embed.FS

// RefreshSeconds is how often the status page reloads itself.
const RefreshSeconds = 10

// recentEvents is how many custody events the status page shows.
const recentEvents = 25

// pageCSP allows nothing but our own stylesheet: the page has no scripts,
// loads nothing from elsewhere, cannot be framed, and its one form (log
// out) posts only here.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pageRoom is a room as the page shows it: what its recorder reports, and
// whether an interview session is open there.
type pageRoom struct {
	api.Room
	// SessionActive comes from the catalog, through the room's metric.
	SessionActive bool
}

// Recording reports whether the room's feed is being written to a segment.
func (r pageRoom) Recording() bool { return r.Segment != "" }

type stateCount struct {
	State catalog.State
	N     int
	Bad   bool
}

type pageData struct {
	Station, Version string
	Now              time.Time
	Refresh          int
	Level            disk.Level
	Health           disk.Report
	Clock            *api.Clock // nil when not watched
	Retention        *api.Rule  // nil when not known
	ClockLevel       disk.Level
	Docks            []api.Dock
	Rooms            []pageRoom
	Backlog          []stateCount
	Total            int
	Held             int
	Archive          archiveView
	Alerts           []api.Alert
	Events           []catalog.Event
	CatalogError     string
	// Approvals are the requests waiting for a second supervisor.
	Approvals []api.Request
	// User and Role are who is logged in; CSRF is their session's token for
	// the log out form, empty when they came with a bearer token.
	User, Role, CSRF string
	// Deprecated warns that the shared token is still configured.
	Deprecated string

	// Checks are the background checks running now.
	Checks []api.Check

	sources Sources // for the status API
}

func (s *Server) newPage() (*template.Template, error) {
	loc := s.cfg.Location
	funcs := template.FuncMap{
		"bytes": humanBytes,
		"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
		"ratio": func(a, b uint64) float64 {
			if b == 0 {
				return 0
			}
			return float64(a) / float64(b)
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.In(loc).Format("2006-01-02 15:04:05")
		},
		"clock": func(t time.Time) string { return t.In(loc).Format("15:04:05 MST") },
		"ago": func(now, t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return humanAgo(now.Sub(t))
		},
		"ms": func(d time.Duration) string {
			return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
		},
		"short": func(s string) string {
			if len(s) > 12 {
				return s[:12]
			}
			return s
		},
		"upper":       strings.ToUpper,
		"uint":        func(n int) uint64 { return uint64(max(n, 0)) },
		"wait":        humanWait,
		"deref":       func(b *bool) bool { return b != nil && *b },
		"seconds":     func(f *float64) string { return strconv.FormatFloat(*f, 'g', 3, 64) + " s" },
		"progress":    progress,
		"leftText":    api.Slot.LeftText,
		"eta":         eta,
		"cameraClock": cameraClock,
	}
	return template.New("status.html").Funcs(funcs).ParseFS(webFS, "web/status.html")
}

// statusPage serves GET /: the state of the station for its administrator,
// storage first. It never fails as a whole: a part that cannot be read says
// so in its place.
func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	d := s.pageData()
	if p, ok := callerOf(r); ok {
		d.User, d.Role = p.name, p.role.String()
		if p.session != nil {
			d.CSRF = p.session.csrf
		}
	}
	if s.cfg.Token != "" {
		d.Deprecated = SharedTokenDeprecation
	}
	var buf bytes.Buffer
	if err := s.page.Execute(&buf, d); err != nil {
		s.log.Error("render status page", "err", err)
		writeError(w, http.StatusInternalServerError, "status page failed")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) pageData() pageData {
	d := pageData{Station: s.cfg.Station, Version: s.cfg.Version, Now: s.cfg.Now(), Refresh: RefreshSeconds}
	if s.cfg.Health != nil {
		d.Health = s.cfg.Health()
		d.Level = d.Health.Level
	}
	if s.cfg.Clock != nil {
		st := s.cfg.Clock()
		c := apiClock(st)
		d.Clock, d.ClockLevel = &c, clockLevel(st)
	}
	d.Retention = s.cfg.Rule
	if s.cfg.Status != nil {
		d.sources = s.cfg.Status()
		d.Docks, d.Checks = d.sources.Docks, d.sources.Checks
		d.Rooms = api.List(d.sources.Rooms, func(r api.Room) pageRoom { return pageRoom{Room: r} })
	}
	counts, err := s.cat.Counts()
	if err != nil {
		d.CatalogError = "catalog unreadable"
	}
	for _, st := range catalog.States {
		bad := (st == catalog.StateMissing || st == catalog.StateCorrupt) && counts[st] > 0
		d.Backlog = append(d.Backlog, stateCount{State: st, N: counts[st], Bad: bad})
		d.Total += counts[st]
	}
	if d.Held, err = s.cat.Held(); err != nil {
		d.CatalogError = "catalog unreadable"
	}
	if d.Events, err = s.cat.RecentEvents(recentEvents); err != nil {
		d.CatalogError = "catalog unreadable"
	}
	if d.Approvals, err = s.pendingApprovals(); err != nil {
		d.CatalogError = "catalog unreadable"
	}
	families := s.gather()
	d.Archive = newArchiveView(families)
	active := sessionsActive(families)
	for i := range d.Rooms {
		d.Rooms[i].SessionActive = active[d.Rooms[i].ID]
	}
	d.Alerts = s.alerts(d, counts)
	for _, a := range d.Alerts {
		d.Level = max(d.Level, a.Level)
	}
	return d
}

func alert(l disk.Level, text string) api.Alert { return api.Alert{Level: l, Text: text} }

// progress is the share of a docked camera's files already offloaded, 0 to 1.
func progress(s api.Slot) float64 {
	if s.DoneFiles+s.PendingFiles == 0 {
		return 1
	}
	return float64(s.DoneFiles) / float64(s.DoneFiles+s.PendingFiles)
}

// eta is a docked camera's expected time to done, or "" when not known.
func eta(s api.Slot) string {
	if s.ETA <= 0 || s.PendingFiles == 0 {
		return ""
	}
	return "about " + humanWait(s.ETA) + " left"
}

// alerts gathers what needs the administrator, most serious first.
func (s *Server) alerts(d pageData, counts map[catalog.State]int) []api.Alert {
	var out []api.Alert
	if d.CatalogError != "" {
		out = append(out, alert(disk.LevelCritical, "The catalog cannot be read."))
	}
	for _, v := range d.Health.Volumes {
		for _, p := range v.Problems {
			out = append(out, alert(v.Level, v.Role+": "+p))
		}
	}
	out = append(out, clockAlerts(d.Clock, d.ClockLevel)...)
	if a := d.Archive; a.Configured && !a.Reachable {
		out = append(out, alert(disk.LevelCritical, "The archive cannot be reached; recordings wait in staging."))
	}
	if a := d.Archive; a.Oldest > OldestWarning {
		out = append(out, alert(disk.LevelWarning, "The oldest recording waiting for upload has waited "+humanWait(a.Oldest)+"."))
	}
	if n := d.Archive.ShortBytes; n > 0 {
		out = append(out, alert(disk.LevelCritical, "Staging is "+humanBytes(n)+" short even after every allowed eviction; docks are paused."))
	}
	if n := counts[catalog.StateMissing]; n > 0 {
		out = append(out, alert(disk.LevelCritical, plural(n, "recording is", "recordings are")+" missing from staging; a fresh copy from the camera restores them."))
	}
	if n := counts[catalog.StateCorrupt]; n > 0 {
		out = append(out, alert(disk.LevelCritical, plural(n, "recording", "recordings")+" failed re-verification: the staged copy no longer matches its hash."))
	}
	for _, dk := range d.Docks {
		if dk.Error != "" {
			out = append(out, alert(disk.LevelWarning, "Dock "+dk.ID+": "+dk.Error))
		}
		if dk.Paused {
			out = append(out, alert(disk.LevelWarning, "Dock "+dk.ID+" is paused; cameras keep their footage."))
		}
		for _, sl := range dk.Slots {
			if sl.LastError != "" {
				out = append(out, alert(disk.LevelWarning, "Dock "+dk.ID+", camera "+sl.Slot+": "+sl.LastError))
			}
			if sl.ClockSuspect {
				out = append(out, alert(disk.LevelWarning, "Dock "+dk.ID+", camera "+sl.Slot+": clock "+cameraClock(sl)))
			}
			if left := sl.LeftText(); left != "" {
				out = append(out, alert(disk.LevelWarning, "Dock "+dk.ID+", camera "+sl.Slot+": "+left+"."))
			}
			if sl.Unregistered != "" {
				out = append(out, alert(disk.LevelWarning, "Dock "+dk.ID+", camera "+sl.Slot+": device "+sl.Unregistered+
					" is not in the devices table; its recordings are flagged unregistered and name no officer from it."))
			}
		}
	}
	out = append(out, failureAlerts(d.sources.Failures)...)
	out = append(out, roomAlerts(d.Rooms, d.Now)...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Level > out[j].Level })
	return out
}

// failureAlerts names each part of the daemon that is down. A room that
// cannot record loses footage: critical. A dock that cannot offload leaves
// it on the cameras, and the other parts only delay: a warning.
func failureAlerts(fs []api.Failure) []api.Alert {
	var out []api.Alert
	for _, f := range fs {
		switch name := strings.TrimPrefix(f.Name, f.Kind+" "); f.Kind {
		case "room":
			out = append(out, alert(disk.LevelCritical, "Room "+name+" cannot record: "+f.Error))
		case "dock":
			out = append(out, alert(disk.LevelWarning, "Dock "+name+" cannot offload: "+f.Error))
		default:
			out = append(out, alert(disk.LevelWarning, "The "+f.Name+" failed and is being restarted: "+f.Error))
		}
	}
	return out
}

func humanBytes(n any) string {
	var v float64
	switch x := n.(type) {
	case uint64:
		v = float64(x)
	case int64:
		v = float64(x)
	case int:
		v = float64(x)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// cameraClock says how a docked camera's clock stood when it docked; ""
// until the dock has measured it. Only a stale newest file leaves open
// whether the clock or the camera's absence is at fault: see ingest/dock.
func cameraClock(s api.Slot) string {
	off, way := s.ClockOffset, "fast"
	if off < 0 {
		off, way = -off, "slow"
	}
	switch s.ClockBasis {
	case "":
		return ""
	case catalog.ClockConsistent:
		return "no error seen"
	case catalog.ClockStale:
		return humanSpan(off) + " slow, or the camera was not docked for " + humanSpan(off)
	}
	return "at least " + humanSpan(off) + " " + way
}

// humanSpan says how long, in seconds under a minute.
func humanSpan(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d/time.Second))
	}
	return humanWait(d)
}

// humanWait says how long, without "ago".
func humanWait(d time.Duration) string {
	if d < time.Minute {
		return "under a minute"
	}
	return strings.TrimSuffix(humanAgo(d), " ago")
}

func humanAgo(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min ago", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
}

// staticFiles serves the page's stylesheet from the binary.
func staticFiles() http.Handler {
	sub, _ := fs.Sub(webFS, "web/static") // a constant path inside the embed
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}
