package admin

import (
	"fmt"
	"time"

	"custodian/admin/api"
	"custodian/hardware/disk"
)

// defaultRoomAlertAfter applies to a room that reports no alert_after; it
// is room.DefaultAlertAfter (admin may not import the recorder).
const defaultRoomAlertAfter = time.Minute

// roomAlerts: rooms are expected to record. One that has a session and
// does not record is losing an interview: critical. One that has not
// recorded for longer than its alert_after is a warning that says why.
func roomAlerts(rooms []pageRoom, now time.Time) []api.Alert {
	var out []api.Alert
	for _, r := range rooms {
		if r.Recording() {
			continue
		}
		if r.SessionActive {
			out = append(out, alert(disk.LevelCritical, "Room "+r.ID+" has a session but is not recording."))
			continue
		}
		after := r.AlertAfter
		if after <= 0 {
			after = defaultRoomAlertAfter
		}
		if r.NotRecordingSince.IsZero() || now.Sub(r.NotRecordingSince) < after {
			continue
		}
		text := "Room " + r.ID + " has not recorded for " + humanOutage(now.Sub(r.NotRecordingSince))
		if r.NotRecordingReason != "" {
			text += ": " + r.NotRecordingReason
		}
		out = append(out, alert(disk.LevelWarning, text+"."))
	}
	return out
}

// humanOutage says how long, to the second under an hour.
func humanOutage(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour && d%time.Minute == 0:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}
