package retention

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"custodian/storage/catalog"
)

// Nothing leaves the permanent class, comes back from expiry or leaves the
// station as a case export on one person's word: one supervisor asks (a
// catalog.Request), a different one approves within the approval window.
// The approval re-checks, in the transaction that carries it out, that
// the request is pending and unexpired and that the hold or the expiry it
// names is still the one that was there when it was asked for.

// DefaultApprovalWindow is how long a request waits for its second supervisor.
const DefaultApprovalWindow = 72 * time.Hour

// ErrNeedsApproval is returned for a one-step release of a reason that
// takes two supervisors.
var ErrNeedsApproval = errors.New("releasing a permanent-class reason takes a request that a second supervisor approves")

// NeedsApproval reports whether releasing reason takes two supervisors:
// every legal reason of the permanent class. The important flag only keeps
// a recording until someone reviews it; one supervisor releases it.
func NeedsApproval(reason string) bool { return ValidReason(reason) && reason != ReasonImportantFlag }

// Ask records a request: Kind, the recordings (Targets, by Recording) or
// the Case, for a release the Reason (and the Case of the hold, if named),
// By and Why. It fails when a recording is not held for the reason, or
// not restorable.
func (g *Manager) Ask(q catalog.Request) (catalog.Request, error) {
	if q.By == "" || q.Why == "" {
		return catalog.Request{}, errors.New("a request needs who (by) and why")
	}
	var check func(catalog.Recording) (time.Time, error)
	switch q.Kind {
	case catalog.RequestRelease:
		if !NeedsApproval(q.Reason) {
			return catalog.Request{}, fmt.Errorf("reason %q: a release request is for one of %v", q.Reason, permanentReasons())
		}
		check = func(r catalog.Recording) (time.Time, error) {
			i := findHold(r.Holds, q.Reason, q.Case, time.Time{})
			if i < 0 {
				return time.Time{}, ErrNoSuchHold
			}
			return r.Holds[i].At, nil
		}
	case catalog.RequestRestore:
		check = func(r catalog.Recording) (time.Time, error) { return r.ExpiringAt, restorable(&r) }
	case catalog.RequestExport:
		q.Targets = nil
	}
	now := g.cfg.Now().UTC()
	q.At, q.Expires = now, now.Add(g.cfg.ApprovalWindow)
	q, err := g.cat.AddRequest(q, check)
	if err != nil {
		return q, err
	}
	g.log.Info("approval requested", "request", q.ID, "kind", q.Kind, "by", q.By, "recordings", len(q.Targets), "case", q.Case)
	return q, nil
}

func permanentReasons() []string {
	return slices.DeleteFunc(slices.Clone(Reasons), func(r string) bool { return !NeedsApproval(r) })
}

// findHold is the index of the hold with reason, of case caseNo if named,
// attached at since if not zero; -1 when there is none.
func findHold(holds []catalog.Hold, reason, caseNo string, since time.Time) int {
	return slices.IndexFunc(holds, func(h catalog.Hold) bool {
		return h.Reason == reason && (caseNo == "" || h.Case == caseNo) && (since.IsZero() || h.At.Equal(since))
	})
}

// Decide approves (approve) or rejects request id as by. A rejection by
// the one who asked withdraws it. An approved release or restore is
// carried out in the approval's own transaction; the archive follows.
func (g *Manager) Decide(ctx context.Context, id uint64, by, why string, approve bool) (catalog.Request, error) {
	if by == "" || why == "" {
		return catalog.Request{}, errors.New("a decision needs who (by) and why")
	}
	now := g.cfg.Now().UTC()
	if approve {
		if err := g.beforeApproval(ctx, id, by, now); err != nil {
			return catalog.Request{}, err
		}
	}
	g.hook("approve", id)
	q, recs, err := g.cat.Decide(id, catalog.Decision{By: by, Why: why, At: now, Approve: approve}, g.apply)
	if err != nil {
		return catalog.Request{}, err
	}
	g.log.Info("request decided", "request", q.ID, "kind", q.Kind, "state", q.State, "asked_by", q.By, "by", by)
	if q.State != catalog.RequestApproved {
		return q, nil
	}
	var errs []error
	for _, r := range recs {
		g.m.Actions.WithLabelValues(q.Kind).Inc()
		g.log.Info(q.Kind+"d on approval", "id", r.ID, "sha256", r.SHA256, "request", q.ID, "by", by)
		if q.Kind == catalog.RequestRelease && g.archive != nil && r.ArchiveKey != "" && !r.Permanent() && r.LegalHold {
			errs = append(errs, g.applyLegalHold(ctx, r, false))
		}
	}
	return q, errors.Join(errs...)
}

// beforeApproval refuses early what the approval's transaction would
// refuse, so nothing is asked of the archive for it, and lifts the delete
// markers of a restore: the archived version must be visible before the
// catalog says the recording is back.
func (g *Manager) beforeApproval(ctx context.Context, id uint64, by string, now time.Time) error {
	q, err := g.cat.Request(id)
	switch {
	case err != nil:
		return err
	case q.State != catalog.RequestPending:
		return fmt.Errorf("request %d: %w: it is %s", id, catalog.ErrNotPending, q.State)
	case !q.Open(now):
		return fmt.Errorf("request %d: %w", id, catalog.ErrRequestExpired)
	case q.By == by:
		return fmt.Errorf("request %d: %w", id, catalog.ErrSelfApproval)
	case q.Kind != catalog.RequestRestore:
		return nil
	}
	for _, t := range q.Targets {
		r, err := g.cat.Get(t.Recording)
		if err != nil {
			return err
		}
		if restorable(&r) == nil && r.ExpiringAt.Equal(t.Since) {
			if err := g.liftMarkers(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply carries out an approved release or restore on one recording,
// inside the approval's transaction, if what the request names is still
// there: the same hold, or the same expiry.
func (g *Manager) apply(x *catalog.Recording, q catalog.Request, t catalog.Target) ([]catalog.Event, error) {
	who := fmt.Sprintf(" (request %d asked by %s, approved by %s)", q.ID, q.By, q.DecidedBy)
	switch q.Kind {
	case catalog.RequestRelease:
		i := findHold(x.Holds, q.Reason, q.Case, t.Since)
		if i < 0 {
			return nil, fmt.Errorf("%w: the hold the request names was released or replaced since", ErrNoSuchHold)
		}
		x.Holds = slices.Delete(x.Holds, i, i+1)
		if len(x.Holds) == 0 && x.State != catalog.StateArchived && x.State != catalog.StateExpiring {
			x.LegalHold = false
		}
		return []catalog.Event{{Type: catalog.EventUnheld, Actor: q.DecidedBy, Detail: "reason " + q.Reason + ": " + q.Why + who}}, nil
	case catalog.RequestRestore:
		if err := restorable(x); err != nil {
			return nil, err
		}
		if !x.ExpiringAt.Equal(t.Since) {
			return nil, fmt.Errorf("recording %d was restored and marked again since the request", x.ID)
		}
		back := catalog.StateVerified
		if x.ArchiveKey != "" {
			back = catalog.StateArchived
		}
		x.State, x.ExpiringAt, x.DeleteMarker = back, time.Time{}, ""
		return []catalog.Event{{Type: catalog.EventRestored, Actor: q.DecidedBy, Detail: q.Why + who}}, nil
	}
	return nil, fmt.Errorf("request %d: nothing to apply for kind %s", q.ID, q.Kind)
}

// Requests lists the requests still waiting for a decision (expired ones
// too: catalog.Request.StateAt tells them apart).
func (g *Manager) Requests() ([]catalog.Request, error) { return g.cat.OpenRequests() }

// Request returns one request.
func (g *Manager) Request(id uint64) (catalog.Request, error) { return g.cat.Request(id) }
