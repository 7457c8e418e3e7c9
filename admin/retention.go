package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"custodian/admin/api"
	"custodian/storage/catalog"
)

// Retention is what the admin API asks of the retention rule. cmd adapts
// the retention package to it, so admin depends on storage alone.
type Retention interface {
	Hold(ctx context.Context, ids []uint64, f catalog.Filter, h catalog.Hold) ([]uint64, error)
	// Release removes a reason one supervisor may release alone (the
	// important flag); the others take a request (Ask).
	Release(ctx context.Context, id uint64, reason, by, why string) (catalog.Recording, error)
	// NeedsApproval reports whether releasing reason takes two supervisors.
	NeedsApproval(reason string) bool
	// Ask records a request a second supervisor must approve: a release of
	// a permanent-class reason, a restore, a case export.
	Ask(q catalog.Request) (catalog.Request, error)
	// Decide approves or rejects a request as by and, approved, carries it out.
	Decide(ctx context.Context, id uint64, by, why string, approve bool) (catalog.Request, error)
	// Requests lists the requests not yet decided; Request reads one.
	Requests() ([]catalog.Request, error)
	Request(id uint64) (catalog.Request, error)
	// Plan hands each action of the plan for at to emit as it is
	// decided, and returns the rest (Short, Warnings): a plan months ahead
	// has millions. Plan and Report stop when ctx ends: the client left.
	Plan(ctx context.Context, at time.Time, emit func(api.Action) error) (api.Plan, error)
	Report(ctx context.Context, day time.Time) (api.Report, error)
	// VerifyTrail checks the custody trail; it returns the events checked.
	VerifyTrail(ctx context.Context) (int, error)
}

// MaxWhyLen bounds the free text of a decision.
const MaxWhyLen = 2000

func (s *Server) retentionRoutes() {
	if s.cfg.Retention == nil {
		return
	}
	s.HandleMutation("POST /api/v1/holds", RoleOperator, s.hold)
	s.HandleMutation("POST /api/v1/cases/{case}/links", RoleOperator, s.hold)
	s.HandleMutation("POST /api/v1/recordings/{id}/release", RoleSupervisor, s.release)
	s.HandleMutation("POST /api/v1/recordings/{id}/restore", RoleSupervisor, s.restore)
	s.mux.HandleFunc("GET /api/v1/cases/{case}", s.caseShow)
	s.mux.HandleFunc("GET /api/v1/retention/plan", s.plan)
	s.mux.HandleFunc("GET /api/v1/report", s.report)
	s.mux.HandleFunc("GET /api/v1/audit/verify", s.auditVerify)
	s.approvalRoutes()
}

func checkWhy(why string) error {
	if len(why) > MaxWhyLen {
		return fmt.Errorf("why: at most %d bytes", MaxWhyLen)
	}
	if err := checkNote(why); err != nil {
		return errors.New("why" + strings.TrimPrefix(err.Error(), "text"))
	}
	return nil
}

func (s *Server) hold(w http.ResponseWriter, r *http.Request, actor string) {
	var req api.HoldRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if c := r.PathValue("case"); c != "" {
		if req.Case != "" && req.Case != c {
			writeError(w, http.StatusBadRequest, "case in the body differs from the path")
			return
		}
		req.Case = c
		if req.Reason == "" {
			req.Reason = "evidence" // a case link implies use as evidence
		}
	}
	f, err := s.holdFilter(req)
	if err == nil {
		err = checkWhy(req.Why)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ids, err := s.cfg.Retention.Hold(r.Context(), req.IDs, f,
		catalog.Hold{Reason: req.Reason, By: actor, Why: req.Why, Case: req.Case})
	resp := api.HoldResponse{IDs: ids, Actor: actor}
	switch {
	case err == nil:
	case errors.Is(err, catalog.ErrNotFound):
		writeError(w, http.StatusNotFound, "a selected recording does not exist")
		return
	case ids == nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	default:
		s.log.Warn("hold recorded, archive not yet in line", "err", err)
		resp.Warning = "held in the catalog; the archive's legal hold is pending and will be retried"
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) holdFilter(req api.HoldRequest) (catalog.Filter, error) {
	var f catalog.Filter
	var err error
	if req.Case != "" {
		if _, err := id("case", req.Case); err != nil {
			return f, err
		}
	}
	if len(req.IDs) > 0 {
		if req.Officer != "" || req.Room != "" {
			return f, errors.New("select by ids or by officer/room, not both")
		}
		return f, nil
	}
	if req.Officer != "" {
		if f.Officer, err = id("officer", req.Officer); err != nil {
			return f, err
		}
	}
	if req.Room != "" {
		if f.SourceID, err = id("room", req.Room); err != nil {
			return f, err
		}
		f.Source = catalog.SourceRoom
	}
	if (f.Officer == "") == (f.SourceID == "") {
		return f, errors.New("select by ids, or by exactly one of officer or room, with from and to")
	}
	if f.From, err = ParseTime(req.From, s.cfg.Location); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.To, err = ParseTime(req.To, s.cfg.Location); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	if !f.From.Before(f.To) {
		return f, errors.New("from must be before to")
	}
	return f, nil
}

// decision reads the id and body of a release or restore; false when it
// has answered the client already.
func decision(w http.ResponseWriter, r *http.Request) (uint64, api.DecisionRequest, bool) {
	var req api.DecisionRequest
	rid, err := pathID(r, "id")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, req, false
	}
	if !decodeJSON(w, r, &req) {
		return 0, req, false
	}
	if err := checkWhy(req.Why); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, req, false
	}
	return rid, req, true
}

// release removes the important flag at once; any other reason becomes a
// request that a second supervisor approves (202 Accepted with it).
func (s *Server) release(w http.ResponseWriter, r *http.Request, actor string) {
	rid, req, ok := decision(w, r)
	if !ok {
		return
	}
	if s.cfg.Retention.NeedsApproval(req.Reason) {
		s.ask(w, catalog.Request{Kind: catalog.RequestRelease, Targets: []catalog.Target{{Recording: rid}},
			Reason: req.Reason, By: actor, Why: req.Why})
		return
	}
	rec, err := s.cfg.Retention.Release(r.Context(), rid, req.Reason, actor, req.Why)
	if s.decisionError(w, rid, err) {
		return
	}
	writeJSON(w, http.StatusOK, APIRecording(rec))
}

// restore asks for a restore: a second supervisor approves it (202
// Accepted with the request).
func (s *Server) restore(w http.ResponseWriter, r *http.Request, actor string) {
	rid, req, ok := decision(w, r)
	if !ok {
		return
	}
	s.ask(w, catalog.Request{Kind: catalog.RequestRestore, Targets: []catalog.Target{{Recording: rid}}, By: actor, Why: req.Why})
}

// decisionError answers a failed release or restore; true when it did.
func (s *Server) decisionError(w http.ResponseWriter, rid uint64, err error) bool {
	var se *catalog.StateError
	switch {
	case err == nil:
		return false
	case errors.Is(err, catalog.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("recording %d not found", rid))
	case errors.As(err, &se):
		writeError(w, http.StatusConflict, se.Error())
	default:
		writeError(w, http.StatusConflict, err.Error())
	}
	return true
}

func (s *Server) caseShow(w http.ResponseWriter, r *http.Request) {
	c, err := id("case", r.PathValue("case"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	recs, err := s.cat.ListContext(r.Context(), catalog.Filter{Case: c})
	if err != nil && r.Context().Err() != nil {
		return // the client left, and the listing stopped with it
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "catalog read failed")
		return
	}
	writeJSON(w, http.StatusOK, api.RecordingsResponse{Recordings: orEmpty(api.List(recs, APIRecording))})
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	at := s.cfg.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := ParseTime(v, s.cfg.Location)
		if err != nil {
			writeError(w, http.StatusBadRequest, "at: "+err.Error())
			return
		}
		at = t
	}
	out := &planWriter{ctx: r.Context(), w: w}
	rest, err := s.cfg.Retention.Plan(r.Context(), at, out.action)
	switch {
	case r.Context().Err() != nil:
		return // the client left, and the plan stopped with it
	case err != nil && out.bw == nil:
		writeError(w, http.StatusInternalServerError, "planning failed")
	case err != nil:
		// Actions went out already: the document stays unclosed, so it
		// never parses as a whole plan.
		s.log.Error("retention plan failed part-way; its answer is cut short", "err", err)
		out.bw.Flush()
	default:
		out.finish(rest)
	}
}

// planWriter writes a plan as writeJSON would, an action at a time as the
// plan decides them: a plan months ahead has millions, never held in
// memory, and writing stops when the client leaves.
type planWriter struct {
	ctx context.Context
	w   http.ResponseWriter
	bw  *bufio.Writer // nil until the first byte
	n   int
}

func (p *planWriter) start() {
	p.w.Header().Set("Content-Type", "application/json")
	p.w.Header().Set("X-Content-Type-Options", "nosniff")
	p.w.WriteHeader(http.StatusOK)
	p.bw = bufio.NewWriterSize(p.w, 64<<10)
	p.bw.WriteString("{\n  \"actions\": [")
}

func (p *planWriter) action(a api.Action) error {
	if p.n%1024 == 0 {
		if err := p.ctx.Err(); err != nil {
			return err
		}
	}
	if p.bw == nil {
		p.start()
	}
	if p.n > 0 {
		p.bw.WriteByte(',')
	}
	p.n++
	b, _ := json.MarshalIndent(a, "    ", "  ") // plain fields: cannot fail
	p.bw.WriteString("\n    ")
	_, err := p.bw.Write(b) // a write error is a client gone: stop planning
	return err
}

// finish writes the rest of the plan after its actions.
func (p *planWriter) finish(rest api.Plan) {
	if p.bw == nil {
		p.start()
	}
	if p.n > 0 {
		p.bw.WriteString("\n  ")
	}
	p.bw.WriteString("]")
	rest.Actions = nil // the rest, as the encoder writes it
	b, _ := json.MarshalIndent(rest, "", "  ")
	if tail, ok := bytes.CutPrefix(b, []byte("{\n  \"actions\": null")); ok {
		p.bw.Write(tail)
	}
	p.bw.WriteByte('\n')
	p.bw.Flush()
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	day, err := time.ParseInLocation(time.DateOnly, r.URL.Query().Get("day"), s.cfg.Location)
	if err != nil {
		writeError(w, http.StatusBadRequest, "day: want YYYY-MM-DD")
		return
	}
	res, err := s.cfg.Retention.Report(r.Context(), day)
	if err != nil && r.Context().Err() != nil {
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "report failed")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) {
	n, err := s.cfg.Retention.VerifyTrail(r.Context())
	resp := api.AuditResponse{OK: err == nil, Checked: n}
	if err != nil {
		resp.Error = err.Error()
	}
	writeJSON(w, http.StatusOK, resp)
}
