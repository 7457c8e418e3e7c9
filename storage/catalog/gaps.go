package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Gap reasons: why an interview room's recording has a hole.
const (
	GapDisconnect = "disconnect"  // the camera's stream ended or could not be reached
	GapStall      = "stall"       // the stream stayed connected but sent nothing
	GapClockStep  = "clock_step"  // the station clock jumped; segments never span a step
	GapOverflow   = "overflow"    // the writer fell behind and media was dropped
	GapWriteError = "write_error" // the disk refused a write (full, I/O error)
	GapRestart    = "restart"     // custodian was not running
	GapCrash      = "crash"       // custodian stopped without closing its segment
	GapMedia      = "media_gap"   // one track (named in Gap.Detail) sent nothing for longer than the gap threshold
)

// EventGap is the custody event recorded with every gap.
const EventGap = "gap"

// Gap is a span of station time in which a room was not recorded.
type Gap struct {
	Room   string    `json:"room"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason"`
	// Track is "audio" or "video" when only that track has the hole (a
	// media_gap, or a stall of one track while the other flows); empty
	// when the whole recording stopped.
	Track  string `json:"track,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Duration is how long the room went unrecorded.
func (g Gap) Duration() time.Duration { return g.End.Sub(g.Start) }

// AddGap records a gap and its custody event in one transaction.
func (c *Catalog) AddGap(g Gap) error {
	if g.Room == "" || g.End.Before(g.Start) {
		return fmt.Errorf("add gap: invalid gap %+v", g)
	}
	g.Start, g.End = g.Start.UTC(), g.End.UTC()
	err := update(c.db, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGaps)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		v, err := json.Marshal(g)
		if err != nil {
			return err
		}
		if err := b.Put(gapKey(g.Room, g.Start, seq), v); err != nil {
			return err
		}
		detail := fmt.Sprintf("room %s: %s from %s to %s (%s)", g.Room, g.Reason,
			g.Start.Format(time.RFC3339Nano), g.End.Format(time.RFC3339Nano), g.Duration().Round(time.Millisecond))
		if g.Detail != "" {
			detail += "; " + g.Detail
		}
		return c.appendEvents(tx, nil, []Event{{Type: EventGap, Detail: detail}})
	})
	if err != nil {
		return fmt.Errorf("add gap for room %s: %w", g.Room, err)
	}
	return nil
}

// Gaps returns the gaps of room that start in [from, to), oldest first.
// Zero times leave that side open.
func (c *Catalog) Gaps(room string, from, to time.Time) ([]Gap, error) {
	var out []Gap
	err := c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGaps)
		if b == nil {
			return nil // a catalog written before rooms existed, opened read-only
		}
		prefix := join([]byte(room), sep)
		cur := b.Cursor()
		for k, v := cur.Seek(join(prefix, u64(timeKey(from)))); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			var g Gap
			if err := json.Unmarshal(v, &g); err != nil {
				return fmt.Errorf("decode gap: %w", err)
			}
			if !to.IsZero() && !g.Start.Before(to) {
				break
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list gaps of room %s: %w", room, err)
	}
	return out, nil
}
