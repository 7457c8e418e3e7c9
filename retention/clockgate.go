package retention

import (
	"fmt"

	"custodian/storage/catalog"
)

// Custody events of the clock gate: the sweeper started or stopped holding
// back its irreversible steps because of the station clock.
const (
	EventClockUntrusted = "clock-untrusted"
	EventClockTrusted   = "clock-trusted"
)

// irreversible steps wait while the station clock is not trusted: each one
// acts on a date the clock may have got wrong. Unmark only saves footage.
func irreversible(k ActionKind) bool { return k == Evict || k == MarkExpired || k == Delete }

// holdBack takes the irreversible steps out of res while the station clock
// is not trusted, and says so in its warnings. The custody trail records
// when holding back starts and stops, once per change.
func (g *Manager) holdBack(res *Result) error {
	trusted, why := true, ""
	if g.cfg.Clock != nil {
		trusted, why = g.cfg.Clock()
	}
	held := 0
	if !trusted {
		kept := make([]Action, 0, len(res.Actions))
		for _, a := range res.Actions {
			if irreversible(a.Kind) {
				held++
				continue
			}
			kept = append(kept, a)
		}
		res.Actions = kept
	}
	if held > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d evict, mark-expired and delete steps wait until the station clock is trusted: %s", held, why))
	}
	g.m.HeldBack.Set(float64(held))
	if g.clockHeld.Load() == !trusted {
		return nil
	}
	e := catalog.Event{Type: EventClockTrusted, Detail: "station clock trusted again: evictions, expiry and deletions resume"}
	if !trusted {
		e = catalog.Event{Type: EventClockUntrusted, Detail: "evictions, expiry and deletions wait until the station clock is trusted: " + why}
	}
	if err := g.cat.Append(e); err != nil {
		return fmt.Errorf("record %s: %w", e.Type, err) // tried again next sweep
	}
	g.clockHeld.Store(!trusted)
	if !trusted {
		g.log.Warn("retention holds back evictions, expiry and deletions: the station clock is not trusted", "reason", why)
	} else {
		g.log.Info("retention resumes evictions, expiry and deletions: the station clock is trusted again")
	}
	return nil
}

// mayAct asks the clock again before each irreversible step: a check may
// find it stepped while a long sweep runs.
func (g *Manager) mayAct(a Action) bool {
	if g.cfg.Clock == nil || !irreversible(a.Kind) {
		return true
	}
	ok, _ := g.cfg.Clock()
	return ok
}
