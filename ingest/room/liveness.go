package room

import (
	"fmt"
	"time"

	"custodian/ingest/fmp4"
	"custodian/storage/catalog"
)

// keyTrack names a track ("audio", "video") in log lines.
const keyTrack = "track"

// liveness is when each track last delivered a unit, by the monotonic
// clock, so that a track silent while another flows is a stall of that
// track rather than no stall at all.
type liveness struct {
	tracks  []fmp4.Track
	last    []time.Time // arrival of each track's last unit
	at      []time.Time // its station time (Unit.At)
	stalled []bool
}

func newLiveness(tracks []fmp4.Track, now time.Time) *liveness {
	n := len(tracks)
	l := &liveness{tracks: tracks, last: make([]time.Time, n), at: make([]time.Time, n), stalled: make([]bool, n)}
	for i := range l.last {
		l.last[i] = now
	}
	return l
}

// seen notes a unit of track i that arrived now, stamped at.
func (l *liveness) seen(i int, now, at time.Time) {
	l.last[i], l.at[i], l.stalled[i] = now, at, false
}

// silent returns the tracks that have just become silent for timeout.
func (l *liveness) silent(now time.Time, timeout time.Duration) []int {
	var out []int
	for i, last := range l.last {
		if !l.stalled[i] && now.Sub(last) > timeout {
			l.stalled[i] = true
			out = append(out, i)
		}
	}
	return out
}

// trackKind names a track in a gap's Detail and in logs.
func trackKind(video bool) string {
	if video {
		return "video"
	}
	return "audio"
}

// holeGap is the gap a hole in one track leaves: a stall of that track
// when it lasted the stall timeout, else a media_gap.
func (r *Room) holeGap(h fmp4.Hole) *catalog.Gap {
	g := &catalog.Gap{Room: r.cfg.ID, Start: h.Start, End: h.End, Reason: catalog.GapMedia,
		Track: trackKind(h.Video), Detail: fmt.Sprintf("%s: %s silent for %s on the camera's clock", trackKind(h.Video), h.Codec, h.Duration)}
	if h.Duration >= r.cfg.StallTimeout {
		g.Reason = catalog.GapStall
	}
	if h.Back {
		g.Detail = trackKind(h.Video) + ": " + h.Codec + " timestamps went back"
	}
	return g
}

// stalledGaps are the stall gaps of the tracks still silent when the
// recording stops at end: from each one's last unit to end.
func (r *Room) stalledGaps(l *liveness, end time.Time) []*catalog.Gap {
	var out []*catalog.Gap
	for i, stalled := range l.stalled {
		if !stalled || l.at[i].IsZero() {
			continue // a track that never sent anything has no recording to end
		}
		if end.Before(l.at[i]) {
			end = l.at[i]
		}
		out = append(out, &catalog.Gap{Room: r.cfg.ID, Start: l.at[i], End: end, Reason: catalog.GapStall,
			Track: trackKind(l.tracks[i].Video()), Detail: trackKind(l.tracks[i].Video()) + ": " + l.tracks[i].Codec() + " silent while the other track flowed"})
	}
	return out
}
