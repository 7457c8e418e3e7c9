package room

import (
	"slices"
	"testing"
	"time"

	"custodian/storage/catalog"
)

// A session starting or stopping cuts the running segment within one GOP
// (the in-repo camera sends a keyframe each second), long before the
// segment length: each segment belongs to one session at most, and the
// session's segments are the one between the cuts.
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
	var session catalog.Session
	for i := range 2 {
		at := time.Now()
		asked = append(asked, at)
		r.Cut(at) // as the admin API does: the cut first, then the session
		var err error
		if i == 0 {
			session, err = e.Catalog.StartSession(catalog.Session{Room: "interview-c", Case: "C-7", Subject: "P-1",
				Officers: []string{"012345"}, StartedAt: at})
		} else {
			_, err = e.Catalog.StopSession("interview-c", at, "test")
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
	}
	waitFor(t, "two segments sealed", 10*time.Second, func() bool { return len(roomRecordings(t, e, "interview-c")) >= 2 })
	stop()
	recs := roomRecordings(t, e, "interview-c")
	if len(recs) != 3 {
		t.Fatalf("%d segments %v, want 3: before, during and after the session", len(recs), spans(recs))
	}
	for i, rec := range recs {
		inSession := i == 1
		if got := slices.Contains(rec.Sessions, session.ID); got != inSession || len(rec.Cases) > 1 {
			t.Errorf("segment %d (%s) sessions %v cases %v; in the session: %v", i, spans(recs[i:i+1]), rec.Sessions, rec.Cases, inSession)
		}
	}
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
