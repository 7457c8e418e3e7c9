package admin

import (
	"html/template"
	"net/http"
	"net/url"
)

// loginCSP lets the login form post to this server and nothing else.
const loginCSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · custodian {{.Station}}</title>
<link rel="stylesheet" href="/static/status.css"></head>
<body><main class="login"><section class="card">
<h2>custodian {{.Station}}: log in</h2>
{{if .Problem}}<p class="crit-text" id="problem">{{.Problem}}</p>{{end}}
<form method="post" action="/login">
<p><label>Name <input name="name" autocomplete="username" required maxlength="64"></label></p>
<p><label>Token <input name="token" type="password" autocomplete="current-password" required maxlength="200"></label></p>
<p><button type="submit">Log in</button></p>
</form></section></main></body></html>
`))

func (s *Server) loginRoutes() {
	s.mux.HandleFunc("GET "+loginPath, func(w http.ResponseWriter, _ *http.Request) { s.loginForm(w, http.StatusOK, "") })
	s.mux.HandleFunc("POST "+loginPath, s.login)
	s.mux.HandleFunc("POST "+logoutPath, s.logout)
}

func (s *Server) loginForm(w http.ResponseWriter, code int, problem string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", loginCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = loginPage.Execute(w, struct{ Station, Problem string }{s.cfg.Station, problem})
}

// login checks the form's name and token and opens a session. A post from
// another site is refused by its Origin, so no one can log a browser in
// under their own name.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			writeError(w, http.StatusForbidden, "login from another site")
			return
		}
	}
	c, err := s.users.byLogin(r.PostFormValue("name"), r.PostFormValue("token"))
	if err != nil {
		s.authFailures.Inc()
		s.log.Warn("refused status page login", "remote", r.RemoteAddr)
		s.loginForm(w, http.StatusUnauthorized, "Wrong name or token, or the user is disabled.")
		return
	}
	id, ses := s.sessions.open(c)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Expires: ses.expires,
		HttpOnly: true, Secure: s.cfg.TLS != nil, SameSite: http.SameSiteStrictMode})
	s.log.Info("status page login", "user", c.name, "role", c.role.String())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the caller's session; the guard has checked its CSRF token.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if p, ok := callerOf(r); ok && p.session != nil {
		if c, err := r.Cookie(sessionCookie); err == nil {
			s.sessions.close(c.Value)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, loginPath, http.StatusSeeOther)
}
