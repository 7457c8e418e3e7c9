package room

import (
	"testing"
	"time"

	"custodian/storage/catalog"
)

// A session starting or stopping cuts the running segment within one GOP
// (the in-repo camera sends a keyframe each second), long before the
// segment length: each segment belongs to one session at most.
func TestRoomCutsSegmentOnRequest(t *testing.T) {
	cam := newCamera(t, "", "")
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-c", cam.url())
	cfg.Segment = time.Minute
	r := New(cfg, e.Env, nil)
	stop := runRoom(t, r)
	defer stop()
	waitFor(t, "recording", 10*time.Second, func() bool { return r.Status().Segment != "" })
	time.Sleep(1500 * time.Millisecond)
	var asked []time.Time
	for range 2 {
		asked = append(asked, time.Now())
		r.Cut()
		time.Sleep(2500 * time.Millisecond)
	}
	waitFor(t, "two segments sealed", 10*time.Second, func() bool { return len(roomRecordings(t, e, "interview-c")) >= 2 })
	recs := roomRecordings(t, e, "interview-c")
	for i, at := range asked {
		found := false
		for _, rec := range recs {
			if d := rec.EndedAt.Sub(at); d >= -100*time.Millisecond && d <= 1100*time.Millisecond {
				found = true
			}
		}
		if !found {
			t.Errorf("cut %d asked at %v: no segment ends within a GOP after it; segments %v", i, at, spans(recs))
		}
	}
}

func spans(recs []catalog.Recording) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.StartedAt.Format("15:04:05.000")+"-"+r.EndedAt.Format("15:04:05.000"))
	}
	return out
}
