package retention

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"custodian/storage/catalog"
)

// Reasons for the permanent class. The first five are the legal ones; the
// important flag holds a recording the officer marked on the camera until an
// administrator reviews it.
const (
	ReasonEvidence       = "evidence"
	ReasonObstruction    = "obstruction"
	ReasonMajorEmergency = "major-emergency"
	ReasonMassIncident   = "mass-incident"
	ReasonMajorCase      = "major-case"
	ReasonImportantFlag  = catalog.HoldImportantFlag
)

// Reasons lists every reason a hold may carry.
var Reasons = []string{ReasonEvidence, ReasonObstruction, ReasonMajorEmergency, ReasonMassIncident, ReasonMajorCase, ReasonImportantFlag}

// ValidReason reports whether r is a known reason.
func ValidReason(r string) bool { return slices.Contains(Reasons, r) }

// Defaults of Policy.
const (
	DefaultLocalKeep = 7 * 24 * time.Hour
	DefaultGrace     = 7 * 24 * time.Hour
	// ClockSlack is how far the station clock may sit behind the newest
	// catalog entry before the planner distrusts it.
	ClockSlack = time.Hour
)

// Policy is the retention rule as configured.
type Policy struct {
	Standard  Period // never under six months; config enforces it
	Location  *time.Location
	LocalKeep time.Duration // archived copies stay local this long
	Grace     time.Duration // between marking deleted and deleting; never 0
	MinFree   int64         // bytes of staging to keep free; 0: no pressure
	Archive   bool          // false: local-only mode
}

// RetainUntil is the one answer to how long r must be kept at least; the
// planner, the archive lock and the uploader all ask it. It is the end of the
// standard period, in calendar months of the station's zone, counted from
// the LATER of r's recorded start and the station's receipt: a camera's
// clock (slow, reset to 2000, never set) can shorten nothing, and footage
// docked months late still gets its full period at the station. A lock the
// archive already holds for longer wins. It is rounded up to the second,
// the precision S3 keeps.
func (p Policy) RetainUntil(r *catalog.Recording) time.Time {
	from := r.StartedAt
	if r.ReceivedAt.After(from) {
		from = r.ReceivedAt
	}
	t := p.Standard.AddTo(from, p.Location)
	if r.RetainUntil.After(t) {
		t = r.RetainUntil
	}
	if up := t.Truncate(time.Second); !up.Equal(t) {
		t = up.Add(time.Second)
	}
	return t
}

// ActionKind is what the sweeper is asked to do.
type ActionKind string

const (
	// Evict removes a local copy the archive holds, verified.
	Evict ActionKind = "evict"
	// MarkExpired is stage one of expiry: a delete marker, an announcement;
	// undone by a restore or a hold during the grace period.
	MarkExpired ActionKind = "mark-expired"
	// Unmark undoes stage one because a hold arrived during the grace period.
	Unmark ActionKind = "unmark"
	// Delete is stage two: the archived version and the local copy go; the
	// record stays, expired.
	Delete ActionKind = "delete"
)

// Action is one step of a plan with the reason for it.
type Action struct {
	Kind   ActionKind `json:"kind"`
	ID     uint64     `json:"id"`
	SHA256 string     `json:"sha256"`
	Size   int64      `json:"size"`
	Reason string     `json:"reason"`
}

// Result is a plan: the actions, oldest first within each kind, and what the
// plan could not solve.
type Result struct {
	Actions []Action `json:"actions"`
	// Short is how many bytes of free space are still missing after every
	// eviction allowed; docks pause while it is positive.
	Short int64 `json:"short,omitempty"`
	// Warnings say why expiry was held back, e.g. a clock gone backwards.
	Warnings []string `json:"warnings,omitempty"`
}

// Plan decides what may go at now. It is a pure function: the sweeper carries
// the result out, and `retention plan` shows it. free is the staging's free
// space now.
func Plan(now time.Time, recs []catalog.Recording, p Policy, free int64) Result {
	return PlanDue(now, catalog.Due{Recordings: recs, Newest: newestEntry(recs)}, p, free)
}

// PlanDue is Plan over what the catalog found for p.DueQuery(now, free):
// the recordings that may be due and the newest time the catalog holds. It
// gives the plan Plan gives over every recording.
func PlanDue(now time.Time, due catalog.Due, p Policy, free int64) Result {
	var res Result
	p = p.normalized()
	recs := due.Recordings
	clockOK, warning := checkClock(now, due.Newest)
	if !clockOK {
		res.Warnings = append(res.Warnings, warning)
	}
	expiry, evictable, keepLocal := planExpiry(now, recs, p, clockOK)
	evictions, short := planEvictions(now, evictable, keepLocal, p, free)
	res.Actions = append(expiry, evictions...)
	res.Short = short
	order := map[ActionKind]int{Unmark: 0, Evict: 1, MarkExpired: 2, Delete: 3}
	slices.SortStableFunc(res.Actions, func(a, b Action) int { return cmp.Compare(order[a.Kind], order[b.Kind]) })
	if res.Actions == nil {
		res.Actions = []Action{}
	}
	return res
}

// normalized fills in what a policy must have: a zone, and a grace period.
func (p Policy) normalized() Policy {
	if p.Location == nil {
		p.Location = time.UTC
	}
	if p.Grace <= 0 {
		p.Grace = DefaultGrace // never 0: deletion is always restorable first
	}
	return p
}

// newestEntry is the newest time recs hold that the clock check compares.
func newestEntry(recs []catalog.Recording) time.Time {
	var newest time.Time
	for i := range recs {
		newest = maxTime(newest, recs[i].ReceivedAt, recs[i].ExpiringAt)
	}
	return newest
}

// checkClock reports whether the station clock can be trusted, and if not,
// the warning that says why. A station clock behind the catalog's newest
// entry has gone backwards (or was set wrong); irreversible steps wait
// until it is right again.
func checkClock(now, newest time.Time) (ok bool, warning string) {
	if !now.Before(newest.Add(-ClockSlack)) {
		return true, ""
	}
	return false, fmt.Sprintf("station clock %s is behind the catalog's newest entry %s: no expiry until it is right",
		now.UTC().Format(time.RFC3339), newest.UTC().Format(time.RFC3339))
}

// planExpiry walks the recordings in the order given and returns the expiry
// steps (unmark, mark expired, delete) due at now, the recordings whose local
// copy may be evicted, and the blobs that must stay local. A blob is shared
// by every record of the same content: it may leave staging only when none of
// them needs it locally.
func planExpiry(now time.Time, recs []catalog.Recording, p Policy, clockOK bool) (actions []Action, evictable []*catalog.Recording, keepLocal map[string]bool) {
	keepLocal = map[string]bool{}
	for i := range recs {
		r := &recs[i]
		switch r.State {
		case catalog.StateExpiring:
			switch {
			case r.Permanent():
				actions = append(actions, act(Unmark, r, "held during the grace period: "+r.Holds[0].Reason))
			case clockOK && !now.Before(r.ExpiringAt.Add(p.Grace)) && !now.Before(p.RetainUntil(r)):
				actions = append(actions, act(Delete, r, fmt.Sprintf("grace period of %s since %s ended",
					days(p.Grace), r.ExpiringAt.UTC().Format(time.RFC3339))))
				continue
			}
		case catalog.StateVerified, catalog.StateArchived:
			ru := p.RetainUntil(r)
			// Never delete unarchived: with an archive, only archived
			// recordings expire; in local-only mode staging is the archive.
			expirable := r.State == catalog.StateArchived || !p.Archive
			if clockOK && expirable && !r.Permanent() && !now.Before(ru) {
				actions = append(actions, act(MarkExpired, r, "retain-until "+ru.UTC().Format(time.RFC3339)+" passed"))
			}
		}
		if !r.HasLocalCopy() {
			continue
		}
		if p.Archive && r.State == catalog.StateArchived {
			evictable = append(evictable, r)
		} else {
			keepLocal[r.SHA256] = true
		}
	}
	return actions, evictable, keepLocal
}

// planEvictions picks the local copies to evict: archived and verified,
// oldest archive first; due after LocalKeep, earlier while free space is
// under MinFree. short is how many bytes are still missing after them.
func planEvictions(now time.Time, evictable []*catalog.Recording, keepLocal map[string]bool, p Policy, free int64) (actions []Action, short int64) {
	slices.SortStableFunc(evictable, func(a, b *catalog.Recording) int {
		return cmp.Or(a.ArchivedAt.Compare(b.ArchivedAt), cmp.Compare(a.ID, b.ID))
	})
	freed := map[string]bool{}
	projected := free
	for _, r := range evictable {
		if keepLocal[r.SHA256] {
			continue
		}
		reason := ""
		switch {
		case !now.Before(r.ArchivedAt.Add(p.LocalKeep)):
			reason = fmt.Sprintf("archived and verified over %s ago", days(p.LocalKeep))
		case p.MinFree > 0 && projected < p.MinFree:
			reason = fmt.Sprintf("free space under min_free (%d bytes)", p.MinFree)
		default:
			continue
		}
		actions = append(actions, act(Evict, r, reason))
		if !freed[r.SHA256] {
			freed[r.SHA256] = true
			projected += r.Size
		}
	}
	if p.MinFree > 0 && projected < p.MinFree {
		short = p.MinFree - projected
	}
	return actions, short
}

func act(k ActionKind, r *catalog.Recording, reason string) Action {
	return Action{Kind: k, ID: r.ID, SHA256: r.SHA256, Size: r.Size, Reason: reason}
}

func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// days writes whole days as "7d", anything else as Go does.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
