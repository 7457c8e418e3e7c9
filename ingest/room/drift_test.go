package room

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"custodian/ingest/fmp4"
	"custodian/storage/catalog"
)

// A lagging encoder: 20 s of media that took 58.6 s to arrive is flagged
// time-drift with the figure; ordinary jitter is not.
func TestSegmentTimeDrift(t *testing.T) {
	e := newTestEnv(t)
	m := NewMetrics(prometheus.NewRegistry())
	r := New(e.roomConfig("interview-d", "rtsp://127.0.0.1:1/x"), e.Env, m)
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		media, arrived time.Duration
		flagged        bool
	}{
		{20 * time.Second, 58600 * time.Millisecond, true},
		{10 * time.Second, 9960 * time.Millisecond, false},
		{60 * time.Second, 57 * time.Second, true}, // media ahead of the station
		{10 * time.Second, 0, false},               // repaired after a crash: no arrival times
	} {
		s := &fmp4.Segment{Name: "seg.mp4", Start: start, End: start.Add(tc.media), Arrived: tc.arrived, Codecs: []string{fmp4.CodecH264}}
		rec, detail := r.segmentRecord(s)
		if rec.HasFlag(catalog.FlagTimeDrift) != tc.flagged {
			t.Errorf("media %v arrived over %v: flagged %v", tc.media, tc.arrived, !tc.flagged)
		}
		if tc.flagged && !strings.Contains(detail, "time-drift: "+tc.media.String()+" of media arrived over") {
			t.Errorf("detail %q lacks the figure", detail)
		}
	}
	if n := testutil.ToFloat64(m.TimeDrift.WithLabelValues("interview-d")); n != 2 {
		t.Errorf("time-drift counted %v, want 2", n)
	}
}
