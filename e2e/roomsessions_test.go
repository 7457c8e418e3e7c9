//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRoomSessionsCutSegments: two interviews in a row in one room, each
// started and stopped mid-segment (segments of 60 s, a keyframe every 2 s).
// Each call ends a segment within one GOP, its audio at the call itself;
// `ls --session` lists exactly the segments of that session, and no
// segment holds two cases.
func TestRoomSessionsCutSegments(t *testing.T) {
	cam := newGstCamera(t, "", "")
	r := newRoomRig(t, "interview-5", cam.url)
	cfg, err := os.ReadFile(r.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.config, []byte(strings.Replace(string(cfg), "segment: 10s", "segment: 60s", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := start(t, r.config, r.addr)
	d.waitLog("room segment opened", 20*time.Second)
	time.Sleep(3 * time.Second)
	for _, c := range []string{"A-2026-0101", "B-2026-0202"} {
		cli(t, "interview", "start", "--config", r.config, "--room", "interview-5",
			"--case", c, "--subject", "P-"+c[:1], "--officer", "012345")
		time.Sleep(5300 * time.Millisecond)
		cli(t, "interview", "stop", "--config", r.config, "--room", "interview-5")
		time.Sleep(3100 * time.Millisecond)
	}
	d.stop()

	l := r.ls(t, "interview-5")
	if len(l.Sessions) != 2 {
		t.Fatalf("sessions %+v, want 2", l.Sessions)
	}
	segs := l.Segments
	for i, s := range segs {
		video, audio := streamSpans(t, r.blob(s.SHA256))
		t.Logf("segment %d %s-%s cases %v: video %.3f-%.3f, audio %.3f-%.3f", i, s.StartedAt.Format("15:04:05.000"),
			s.EndedAt.Format("15:04:05.000"), s.Cases, video.start, video.end, audio.start, audio.end)
		if len(s.Cases) > 1 {
			t.Errorf("segment %d holds cases %v", i, s.Cases)
		}
	}
	if len(segs) != 5 {
		t.Fatalf("%d segments, want 5: before, A, between, B, after", len(segs))
	}
	var calls []time.Time
	for _, s := range l.Sessions {
		calls = append(calls, s.StartedAt, s.EndedAt)
	}
	audioAt := func(i int, sec float64) time.Time {
		return segs[i].StartedAt.Add(time.Duration(sec * float64(time.Second)))
	}
	for i, at := range calls {
		// Segment i ends at call i: its video at the next keyframe, its
		// audio at the call; segment i+1's audio begins there.
		if d := segs[i].EndedAt.Sub(at); d < -40*time.Millisecond || d > 2100*time.Millisecond {
			t.Errorf("call %d at %s: segment %d ends %s after it, want within one GOP (2 s)", i, at.Format("15:04:05.000"), i, d)
		}
		_, before := streamSpans(t, r.blob(segs[i].SHA256))
		_, after := streamSpans(t, r.blob(segs[i+1].SHA256))
		if end := audioAt(i, before.end); !within(seconds(end.Sub(at)), 0, 0.04) {
			t.Errorf("call %d at %s: segment %d's audio ends at %s", i, at.Format("15:04:05.000"), i, end.Format("15:04:05.000"))
		}
		if begin := audioAt(i+1, after.start); !within(seconds(begin.Sub(at)), 0, 0.04) {
			t.Errorf("call %d at %s: segment %d's audio begins at %s", i, at.Format("15:04:05.000"), i+1, begin.Format("15:04:05.000"))
		}
	}
	for n, s := range l.Sessions {
		var listed struct {
			Recordings []roomSegment `json:"recordings"`
		}
		b := cli(t, "ls", "--config", r.config, "--session", strconv.FormatUint(s.ID, 10), "--json")
		if err := json.Unmarshal(b, &listed); err != nil {
			t.Fatalf("ls --session: %v\n%s", err, b)
		}
		want := segs[1+2*n].Name
		if len(listed.Recordings) != 1 || listed.Recordings[0].Name != want {
			t.Errorf("ls --session %d lists %+v, want only %s", s.ID, listed.Recordings, want)
		}
		for i, seg := range segs {
			if in := slices.Contains(seg.Sessions, s.ID); in != (i == 1+2*n) {
				t.Errorf("segment %d sessions %v; session %d (%s)", i, seg.Sessions, s.ID, s.Case)
			}
		}
	}
}
