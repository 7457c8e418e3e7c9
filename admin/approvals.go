package admin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/admin/api"
	"custodian/storage/catalog"
)

// Two-person decisions: a supervisor asks (a release of a permanent-class
// reason, a restore, a case export), a different supervisor approves
// within the approval window. Viewers and operators may read the
// requests; only supervisors ask and decide. The retention rule and the
// catalog enforce the rest (requester, expiry, the hold still there)
// inside the transaction that carries the approval out.

func (s *Server) approvalRoutes() {
	s.HandleMutation("POST /api/v1/requests", RoleSupervisor, s.askRoute)
	s.HandleMutation("POST /api/v1/requests/{id}/approve", RoleSupervisor, s.decideRoute(true))
	s.HandleMutation("POST /api/v1/requests/{id}/reject", RoleSupervisor, s.decideRoute(false))
	s.mux.HandleFunc("GET /api/v1/requests", s.requestList)
	s.mux.HandleFunc("GET /api/v1/requests/{id}", s.requestShow)
}

func (s *Server) askRoute(w http.ResponseWriter, r *http.Request, actor string) {
	var req api.NewRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if err := checkWhy(req.Why); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := catalog.Request{Kind: req.Kind, Reason: req.Reason, By: actor, Why: req.Why}
	if req.Case != "" {
		c, err := id("case", req.Case)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		q.Case = c
	}
	for _, rid := range req.IDs {
		q.Targets = append(q.Targets, catalog.Target{Recording: rid})
	}
	if msg := checkAsk(req, s.cfg.Retention.NeedsApproval); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.ask(w, q)
}

// checkAsk says what is wrong with a new request's shape, if anything.
func checkAsk(req api.NewRequest, needsApproval func(string) bool) string {
	switch req.Kind {
	case catalog.RequestRelease:
		if !needsApproval(req.Reason) {
			return fmt.Sprintf("reason %q: a release request is for a permanent-class reason; release the important flag directly", truncate(req.Reason, 32))
		}
		fallthrough
	case catalog.RequestRestore:
		if len(req.IDs) == 0 || len(req.IDs) > 1000 {
			return req.Kind + ": name 1-1000 recordings (ids)"
		}
		if slices.Contains(req.IDs, 0) {
			return "ids: want recording ids from 1"
		}
	case catalog.RequestExport:
		if req.Case == "" || len(req.IDs) > 0 {
			return "export: name a case and no ids"
		}
	default:
		return "kind: want release, restore or export"
	}
	return ""
}

// ask records q and answers 202 Accepted with it: nothing happened yet.
func (s *Server) ask(w http.ResponseWriter, q catalog.Request) {
	q, err := s.cfg.Retention.Ask(q)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		writeError(w, http.StatusNotFound, "a named recording does not exist")
	case err != nil:
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeJSON(w, http.StatusAccepted, s.apiRequest(q))
	}
}

func (s *Server) decideRoute(approve bool) MutationHandler {
	return func(w http.ResponseWriter, r *http.Request, actor string) {
		rid, req, ok := decision(w, r)
		if !ok {
			return
		}
		q, err := s.cfg.Retention.Decide(r.Context(), rid, actor, req.Why, approve)
		switch {
		case err == nil:
		case errors.Is(err, catalog.ErrNotFound):
			writeError(w, http.StatusNotFound, fmt.Sprintf("request %d not found", rid))
			return
		case errors.Is(err, catalog.ErrSelfApproval):
			s.log.Warn("refused approval of one's own request", "user", actor, "request", rid)
			writeError(w, http.StatusForbidden, err.Error())
			return
		case q.ID == 0:
			writeError(w, http.StatusConflict, err.Error())
			return
		default: // approved; the archive is not yet in line
			s.log.Warn("approval recorded, archive not yet in line", "request", rid, "err", err)
		}
		writeJSON(w, http.StatusOK, s.apiRequest(q))
	}
}

func (s *Server) requestList(w http.ResponseWriter, _ *http.Request) {
	qs, err := s.openRequests()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "catalog read failed")
		return
	}
	writeJSON(w, http.StatusOK, api.RequestsResponse{Requests: orEmpty(qs)})
}

// openRequests are the requests still waiting, expired ones included (as
// expired), or nil when the server serves no retention routes.
func (s *Server) openRequests() ([]api.Request, error) {
	if s.cfg.Retention == nil {
		return nil, nil
	}
	qs, err := s.cfg.Retention.Requests()
	return api.List(qs, s.apiRequest), err
}

// pendingApprovals are the requests a second supervisor may still approve.
func (s *Server) pendingApprovals() ([]api.Request, error) {
	qs, err := s.openRequests()
	return slices.DeleteFunc(qs, func(q api.Request) bool { return q.State != catalog.RequestPending }), err
}

// newApprovalsGauge is custodian_pending_approvals, read at each scrape.
func newApprovalsGauge(s *Server) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "custodian_pending_approvals",
		Help: "Requests (release of a permanent hold, restore, case export) waiting for a second supervisor's approval, not yet expired.",
	}, func() float64 {
		qs, _ := s.pendingApprovals()
		return float64(len(qs))
	})
}

func (s *Server) requestShow(w http.ResponseWriter, r *http.Request) {
	rid, err := pathID(r, "id")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q, err := s.cfg.Retention.Request(rid)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("request %d not found", rid))
	case err != nil:
		writeError(w, http.StatusInternalServerError, "catalog read failed")
	default:
		writeJSON(w, http.StatusOK, s.apiRequest(q))
	}
}

func (s *Server) apiRequest(q catalog.Request) api.Request {
	out := api.Request{ID: q.ID, Kind: q.Kind, Reason: q.Reason, Case: q.Case, By: q.By, Why: q.Why,
		At: q.At, Expires: q.Expires, State: q.StateAt(s.cfg.Now()), DecidedBy: q.DecidedBy, DecidedAt: q.DecidedAt,
		DecidedWhy: q.DecidedWhy, UsedBy: q.UsedBy, UsedAt: q.UsedAt}
	for _, t := range q.Targets {
		out.Recordings = append(out.Recordings, t.Recording)
	}
	return out
}
