package admin

import (
	"errors"
	"net/http"
	"time"

	"custodian/admin/api"
	"custodian/storage/export"
)

// exportRoutes serves a case's court export when the server has an
// exporter (Config.Export).
func (s *Server) exportRoutes() {
	if s.cfg.Export == nil {
		return
	}
	// The gate, not the route, decides who may export (Config.ExportGate).
	s.HandleMutation("POST /api/v1/cases/{case}/export", RoleOperator, s.export)
}

// export answers with the case's export as a tar stream. The gate decides
// first; the exported events are in the trail before the first byte of a
// recording goes out. A failure once the stream has begun aborts it, so
// that the client never mistakes a cut export for a whole one.
func (s *Server) export(w http.ResponseWriter, r *http.Request, actor string) {
	var req api.ExportRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	c, err := id("case", r.PathValue("case"))
	if err == nil && req.Why != "" { // a reason is welcome, not required
		err = checkWhy(req.Why)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	recs, err := s.cfg.Export.Plan(c)
	switch {
	case errors.Is(err, export.ErrNoRecordings):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, export.ErrUnavailable):
		writeError(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		s.log.Error("export", "case", c, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot read the catalog")
		return
	}
	// The gate comes last: it may use up an approval, which a case with
	// nothing to export must not cost.
	p, _ := callerOf(r)
	gate := s.cfg.ExportGate
	if gate == nil {
		gate = RequireSupervisor
	}
	if err := gate(r.Context(), Principal{Name: p.name, Role: p.role}, c, req.Why); err != nil {
		s.log.Warn("export refused", "user", p.name, "case", c, "reason", err.Error())
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	// A large case takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="case-`+c+`.tar"`)
	w.WriteHeader(http.StatusOK)
	sink := export.NewTarSink(w, s.cfg.Now())
	m, err := s.cfg.Export.Export(r.Context(), export.Request{Case: c, By: actor, Why: req.Why}, recs, sink)
	if err == nil {
		err = sink.Close()
	}
	if err != nil {
		s.log.Error("export failed; the stream is cut", "case", c, "user", actor, "err", err)
		panic(http.ErrAbortHandler)
	}
	s.log.Info("case exported", "case", c, "user", actor, "recordings", len(m.Recordings))
}
