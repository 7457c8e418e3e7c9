package retention

import (
	"time"

	"custodian/storage/catalog"
)

// startMargin widens the start bound of DueQuery past what the calendar
// gives: a day a month lacks, a DST change or a zone's change of offset
// moves the end of a period by hours, never by two days. Each recording
// inside the margin is then decided by its exact retention date, from its
// indexed times, without being read.
const startMargin = 48 * time.Hour

// DueQuery turns p into the bounds of what a plan at now may act on, which
// the catalog, knowing no policy, finds by its retention indexes; free is
// staging's free space. PlanDue over what it finds gives Plan's result over
// every recording:
//   - mark-expired: verified and archived recordings, not held, whose
//     retain-until (from their start, receipt and archive lock) has passed;
//     only those started by the latest start a period could have ended
//     from are looked at.
//   - delete and unmark: expiring recordings marked a grace period ago,
//     and every held expiring one.
//   - evict: archived local copies archived local_keep ago, then the oldest
//     archives on until the copies no other recording shares free what
//     min_free lacks, each with the other recordings of its blob.
func (p Policy) DueQuery(now time.Time, free int64) catalog.DueQuery {
	p = p.normalized()
	q := catalog.DueQuery{
		StartedBy: now.In(p.Location).AddDate(0, -p.Standard.Months, 0).Add(startMargin),
		Expired: func(started, received, retainUntil time.Time) bool {
			r := catalog.Recording{StartedAt: started, ReceivedAt: received, RetainUntil: retainUntil}
			return !now.Before(p.RetainUntil(&r))
		},
		ExpiringBy: now.Add(-p.Grace),
	}
	if p.Archive {
		q.ArchivedBy = now.Add(-p.LocalKeep)
		if p.MinFree > free {
			q.FreeBytes = p.MinFree - free
		}
	}
	return q
}
