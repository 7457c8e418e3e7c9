package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"custodian/internal/digest"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

func testTracks() []*track {
	return []*track{
		{id: 1, name: codecH264, video: true, clockRate: 90000, codec: &mp4.CodecH264{SPS: testSPS, PPS: testPPS}},
		{id: 2, name: codecULaw, clockRate: 8000, entry: "ulaw", channels: 1, codec: &mp4.CodecLPCM{BitDepth: 8, SampleRate: 8000, ChannelCount: 1}},
	}
}

// feedSegmenter pushes n seconds of synthetic 25 fps video and 20 ms audio
// packets, arriving in station time from t0.
func feedSegmenter(t *testing.T, s *segmenter, t0 time.Time, seconds int) []*closedSegment {
	t.Helper()
	var closed []*closedSegment
	for tick := 0; tick < seconds*50; tick++ {
		at := t0.Add(time.Duration(tick) * 20 * time.Millisecond)
		pcm := make([]byte, 160)
		for i := range pcm {
			pcm[i] = audioByte(tick*160 + i)
		}
		units := []unit{{track: 1, pts: int64(tick * 160), at: at, pcm: pcm}}
		if tick%2 == 0 {
			frame := tick / 2
			au := [][]byte{{0x41, 0x9a, byte(frame), 0x00}}
			if frame%25 == 0 {
				au = [][]byte{testSPS, testPPS, {0x65, 0x88, 0x84, byte(frame), 0x00}}
			}
			units = append([]unit{{track: 0, pts: int64(frame * 3600), at: at, au: au}}, units...)
		}
		for _, u := range units {
			c, err := s.push(u)
			if err != nil && err != errNotReady {
				t.Fatal(err)
			}
			if c != nil {
				closed = append(closed, c)
			}
		}
	}
	return closed
}

func TestSegmenterCutsAtKeyframesAndKeepsTimeContinuous(t *testing.T) {
	dir := t.TempDir()
	s := newSegmenter(dir, "r1", 3*time.Second, time.Second, testTracks())
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	closed := feedSegmenter(t, s, t0, 10)
	last, err := s.close()
	if err != nil {
		t.Fatal(err)
	}
	closed = append(closed, last)
	// Keyframes every second, segments at least 3 s: cuts at 3, 6, 9 s.
	want := []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, time.Second}
	if len(closed) != len(want) {
		t.Fatalf("got %d segments, want %d", len(closed), len(want))
	}
	var audio []byte
	for i, c := range closed {
		if got := c.endedAt.Sub(c.startedAt); got != want[i] {
			t.Errorf("segment %d spans %s of station time, want %s", i, got, want[i])
		}
		b, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		sha, n, _ := digest.Sum(bytes.NewReader(b))
		if sha != c.sha || n != c.size {
			t.Errorf("segment %d: running hash %s/%d, file %s/%d", i, c.sha, c.size, sha, n)
		}
		good, moovEnd := completePrefix(b)
		if good != len(b) {
			t.Errorf("segment %d: only %d of %d bytes are complete boxes", i, good, len(b))
		}
		// Media time matches station time: both clocks run together here.
		if d := mediaDuration(b, moovEnd); d != want[i]+20*time.Millisecond && d != want[i] && d != want[i]+40*time.Millisecond {
			t.Errorf("segment %d media duration %s, station span %s", i, d, want[i])
		}
		a, _ := segmentMedia(t, c.path)
		audio = append(audio, a...)
	}
	for i, b := range audio {
		if b != audioByte(i) {
			t.Fatalf("audio byte %d differs", i)
		}
	}
	if len(audio) != 10*8000 {
		t.Errorf("recorded %d audio bytes, sent %d", len(audio), 10*8000)
	}
}

func TestInitStoresG711AsSent(t *testing.T) {
	b, err := marshalInit(testTracks())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("ulaw")) || bytes.Contains(b, []byte("ipcm")) || bytes.Contains(b, []byte("pcmC")) {
		t.Error("init does not carry a ulaw sample entry in place of ipcm/pcmC")
	}
	if got := initCodecs(b, len(b)); len(got) != 2 || got[0] != codecH264 || got[1] != codecULaw {
		t.Errorf("codecs %v", got)
	}
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(b)); err != nil {
		t.Fatalf("mediacommon cannot read the init back: %v", err)
	}
}

func TestRecoverCutsToLastCompleteFragment(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-9", "rtsp://127.0.0.1:1/none")
	open := filepath.Join(cfg.Dir, "open")
	if err := os.MkdirAll(open, 0o750); err != nil {
		t.Fatal(err)
	}
	s := newSegmenter(open, cfg.ID, time.Hour, time.Second, testTracks())
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	feedSegmenter(t, s, t0, 4)
	path, good := s.cur.path, s.cur.size
	// A crash in the middle of writing the next fragment: half a box on disk.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 0x10, 0, 'm', 'o', 'o', 'f', 1, 2, 3})
	f.Close()
	s.abandon()

	// A segment created just before the crash: an init, no media.
	init, err := marshalInit(testTracks())
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(open, SegmentName(cfg.ID, t0.Add(time.Hour)))
	if err := os.WriteFile(empty, init, 0o640); err != nil {
		t.Fatal(err)
	}

	r := NewRoom(cfg, e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "recovered segment", 10*time.Second, func() bool { return len(roomRecordings(t, e, cfg.ID)) == 1 })
	stop()
	rec := roomRecordings(t, e, cfg.ID)[0]
	if !rec.HasFlag(catalog.FlagRecovered) || rec.Size != good || rec.State != catalog.StateVerified {
		t.Errorf("recovered %+v, want flagged recovered, size %d", rec, good)
	}
	if !rec.StartedAt.Equal(t0) || rec.EndedAt.Sub(t0) < 3*time.Second || rec.EndedAt.Sub(t0) > 4*time.Second {
		t.Errorf("recovered span %s - %s", rec.StartedAt, rec.EndedAt)
	}
	if len(rec.Codecs) != 2 {
		t.Errorf("codecs %v", rec.Codecs)
	}
	for _, p := range []string{path, empty} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still in the open directory: %v", p, err)
		}
	}
}

// TestOverflowBecomesGap drives the writer loop directly: units the RTP
// callback had to drop close the segment, and the hole is an overflow gap.
func TestOverflowBecomesGap(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-8", "rtsp://127.0.0.1:1/none")
	r := NewRoom(cfg, e.Env, nil)
	if err := os.MkdirAll(r.openDir, 0o750); err != nil {
		t.Fatal(err)
	}
	seg := newSegmenter(r.openDir, cfg.ID, time.Hour, time.Second, testTracks())
	queue := make(chan unit, 1000)
	jobs := make(chan sealJob, 100)
	var overflow atomic.Uint64
	waitc := make(chan error)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	waited := false
	go func() { done <- r.record(ctx, seg, queue, &overflow, waitc, &waited, jobs) }()

	// Units as the callback would queue them, timed by the real clock so
	// the monotonic clock-step check sees no step.
	send := func(from, to int) {
		for tick := from; tick < to; tick++ {
			at := time.Now()
			if tick%2 == 0 {
				frame := tick / 2
				au := [][]byte{{0x41, 0x9a, byte(frame), 0x00}}
				if frame%25 == 0 {
					au = [][]byte{testSPS, testPPS, {0x65, 0x88, 0x84, byte(frame), 0x00}}
				}
				queue <- unit{track: 0, pts: int64(frame * 3600), at: at, au: au}
			}
			queue <- unit{track: 1, pts: int64(tick * 160), at: at, pcm: make([]byte, 160)}
		}
		for len(queue) > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	send(0, 60)
	overflow.Store(7) // the callback dropped seven units here
	send(60, 120)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("record: %v", err)
	}
	close(jobs)
	var segs, gaps []sealJob
	for j := range jobs {
		if j.gap != nil {
			gaps = append(gaps, j)
		} else {
			segs = append(segs, j)
		}
	}
	if len(gaps) != 1 || gaps[0].gap.Reason != catalog.GapOverflow || gaps[0].gap.End.Before(gaps[0].gap.Start) {
		t.Fatalf("gaps %+v, want one overflow gap", gaps)
	}
	if len(segs) != 1 || !seg.open() {
		t.Errorf("%d segments closed, open now %v: want the one before the overflow closed and a new one open", len(segs), seg.open())
	}
	seg.abandon()
}

// A crash after a segment's record was written but before its bytes moved
// into staging: start-up marks the record missing, recovery seals the same
// bytes onto that record, and nothing is catalogued twice or left orphaned.
func TestSealCrashBeforeStaging(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.roomConfig("interview-8", "rtsp://127.0.0.1:1/none")
	open := filepath.Join(cfg.Dir, "open")
	if err := os.MkdirAll(open, 0o750); err != nil {
		t.Fatal(err)
	}
	s := newSegmenter(open, cfg.ID, time.Hour, time.Second, testTracks())
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	feedSegmenter(t, s, t0, 4)
	path := s.cur.path
	s.abandon()
	sha, size, err := digest.SumFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Catalog.Add(catalog.Recording{Station: "st01", Source: catalog.SourceRoom, SourceID: cfg.ID,
		Name: filepath.Base(path), SHA256: sha, Size: size, StartedAt: t0, State: catalog.StateStaged},
		catalog.Event{Type: catalog.EventIngested}); err != nil {
		t.Fatal(err)
	}
	if rep, err := staging.Reconcile(e.Catalog, e.Staging, e.Log); err != nil || len(rep.Missing) != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}

	r := NewRoom(cfg, e.Env, nil)
	stop := runRoom(t, r)
	waitFor(t, "the segment sealed onto its record", 10*time.Second, func() bool {
		recs := roomRecordings(t, e, cfg.ID)
		return len(recs) == 1 && recs[0].State == catalog.StateVerified
	})
	stop()
	if recs := roomRecordings(t, e, cfg.ID); len(recs) != 1 || recs[0].SHA256 != sha {
		t.Fatalf("records %+v", recs)
	}
	if err := e.Staging.Verify(sha, size); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("segment left in the open directory: %v", err)
	}
}
