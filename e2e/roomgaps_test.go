//go:build e2e

package e2e

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"custodian/internal/testenv"
)

// span is where a stream's decoded frames begin and end in a segment, as
// ffprobe decodes them (seconds from the segment's start, edit lists
// applied).
type span struct{ start, end float64 }

// streamSpans is the span of the decoded video and audio frames of a segment.
func streamSpans(t *testing.T, path string) (video, audio span) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"frame=media_type,best_effort_timestamp_time,pkt_duration_time", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct {
		Frames []struct {
			Type     string `json:"media_type"`
			PTS      string `json:"best_effort_timestamp_time"`
			Duration string `json:"pkt_duration_time"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Frames) == 0 {
		t.Fatalf("ffprobe decoded no frame of %s", path)
	}
	seen := map[string]bool{}
	for _, p := range res.Frames {
		pts, _ := strconv.ParseFloat(p.PTS, 64)
		d, _ := strconv.ParseFloat(p.Duration, 64)
		s := &audio
		if p.Type == "video" {
			s = &video
		}
		if !seen[p.Type] {
			s.start, seen[p.Type] = pts, true
		}
		s.start, s.end = min(s.start, pts), max(s.end, pts+d)
	}
	return video, audio
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// within: a and b differ by tol at most; ffprobe's times are printed to the
// microsecond, so exactly tol apart must not fail on float rounding.
func within(a, b, tol float64) bool {
	tol += 1e-6
	return a-b <= tol && b-a <= tol
}

// TestRoomMediaGaps: the camera stops sending audio 15-18 s and video
// 30-42 s into the stream. Each hole ends a segment and is a gap of its
// track; in every segment, ffmpeg finds audio and video where the camera
// put them, within 40 ms.
func TestRoomMediaGaps(t *testing.T) {
	for _, tool := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Need(t, tool)
		}
	}
	cam := &gstCamera{t: t, python: roomPython(t), extra: []string{"--drop", "audio:15:18", "--drop", "video:30:42"}}
	cam.start()
	t.Cleanup(cam.kill)
	r := newRoomRig(t, "interview-3", cam.url)
	d := start(t, r.config, r.addr)
	d.waitLog("room segment opened", 20*time.Second)
	time.Sleep(48 * time.Second)
	d.stop()

	var l struct {
		Segments []roomSegment `json:"segments"`
		Gaps     []struct {
			roomGap
			Track  string `json:"track"`
			Detail string `json:"detail"`
		} `json:"gaps"`
	}
	b := cli(t, "ls", "--config", r.config, "--room", "interview-3", "--json")
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("ls --room: %v\n%s", err, b)
	}
	if len(l.Gaps) != 2 {
		t.Fatalf("gaps %+v, want the audio hole and the video hole", l.Gaps)
	}
	want := []struct {
		reason, track string
		dur           time.Duration
	}{{"media_gap", "audio", 3 * time.Second}, {"stall", "video", 12 * time.Second}}
	for i, w := range want {
		g := l.Gaps[i]
		if g.Reason != w.reason || g.Track != w.track || !within(seconds(g.End.Sub(g.Start)), seconds(w.dur), 0.1) {
			t.Errorf("gap %d: %+v, want %s of %s for about %s", i, g, w.reason, w.track, w.dur)
		}
	}
	// Each hole ends the segment that holds its start.
	holeAt := func(g time.Time) int {
		for i, s := range l.Segments {
			if !g.Before(s.StartedAt) && g.Before(s.EndedAt.Add(50*time.Millisecond)) {
				return i
			}
		}
		return -1
	}
	audioHole, videoHole := holeAt(l.Gaps[0].Start), holeAt(l.Gaps[1].Start)
	if audioHole < 0 || videoHole <= audioHole || videoHole == len(l.Segments)-1 {
		t.Fatalf("holes in segments %d and %d of %d", audioHole, videoHole, len(l.Segments))
	}
	// On the station's clock (a segment's start plus ffprobe's times), each
	// track runs on from one segment into the next, except across its own
	// hole, and each hole ends its segment's track where the gap starts.
	at := func(i int, sec float64) time.Time {
		return l.Segments[i].StartedAt.Add(time.Duration(sec * float64(time.Second)))
	}
	var prevVideo, prevAudio span
	for i, s := range l.Segments {
		video, audio := streamSpans(t, r.blob(s.SHA256))
		t.Logf("segment %d %s-%s: video %.3f-%.3f, audio %.3f-%.3f", i, s.StartedAt.Format("15:04:05.000"),
			s.EndedAt.Format("15:04:05.000"), video.start, video.end, audio.start, audio.end)
		if min(video.start, audio.start) > 0.04 {
			t.Errorf("segment %d: video starts at %.3f s, audio at %.3f s, neither at its start", i, video.start, audio.start)
		}
		if i > 0 {
			for _, tr := range []struct {
				name       string
				prev, cur  span
				hole       int
				gapStarted time.Time
				gap        time.Duration
			}{
				{"audio", prevAudio, audio, audioHole, l.Gaps[0].Start, l.Gaps[0].End.Sub(l.Gaps[0].Start)},
				{"video", prevVideo, video, videoHole, l.Gaps[1].Start, l.Gaps[1].End.Sub(l.Gaps[1].Start)},
			} {
				want := time.Duration(0)
				if i-1 == tr.hole {
					want = tr.gap
					if end := at(i-1, tr.prev.end); !within(seconds(end.Sub(tr.gapStarted)), 0, 0.04) {
						t.Errorf("segment %d: %s ends at %s, its gap starts at %s", i-1, tr.name, end, tr.gapStarted)
					}
				}
				if got := at(i, tr.cur.start).Sub(at(i-1, tr.prev.end)); !within(seconds(got), seconds(want), 0.04) {
					t.Errorf("%s from segment %d to %d: %s between, want %s", tr.name, i-1, i, got, want)
				}
			}
		}
		prevVideo, prevAudio = video, audio
	}
}
