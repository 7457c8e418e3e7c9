// Package fmp4 owns the fragmented-MP4 segment files of interview rooms:
// writing them fragment by fragment, each synced before the next, and
// repairing one a crash left open.
package fmp4

import (
	"fmt"
	"strings"
	"time"
)

// Ext is the file extension of a segment, without the dot.
const Ext = "mp4"

// stampLayout is the UTC start time in a segment's file name.
const stampLayout = "20060102T150405.000Z"

// Segment is a segment file: one being written (Segmenter.Current), or a
// closed one, synced and hashed, ready to seal.
type Segment struct {
	Path string
	Name string // SegmentName(prefix, Start)
	// SHA256 (hex) and Size are of the whole file; while it is being
	// written, Size counts the bytes written and synced so far.
	SHA256 string
	Size   int64
	// Start and End are station time. End is where the media ends.
	Start, End time.Time
	// CameraTime is the camera's own clock at Start (RTCP sender reports),
	// zero when the camera sent none.
	CameraTime time.Time
	Codecs     []string // one Codec name per track
	// Recovered is set by Repair: the file was cut back after a crash.
	Recovered bool
	// Arrived is how long, on the station's clock, the segment's units took
	// to arrive, first to last; against End-Start (the camera's media time)
	// it shows an encoder or clock that drifts. Zero after Repair.
	Arrived time.Duration
	// CutAt is the instant a requested cut (CutNext) asked the segment to
	// end: its audio ends there, its video at the next keyframe. Zero when
	// the segment ended otherwise. What it holds after CutAt is video only,
	// less than a GOP, and belongs with what follows.
	CutAt time.Time
}

// Drift is how far the camera's media time fell behind (positive) or ran
// ahead of (negative) the station's clock over the segment.
func (s Segment) Drift() time.Duration {
	if s.Arrived == 0 {
		return 0
	}
	return s.Arrived - s.End.Sub(s.Start)
}

// SegmentName is the file name of a segment of prefix (a room) starting at t.
func SegmentName(prefix string, t time.Time) string {
	return fmt.Sprintf("%s_%s.%s", prefix, t.UTC().Format(stampLayout), Ext)
}

// numberedName is SegmentName with "-n" after the time: the n-th segment
// to start in the same millisecond (an encoder that restarts sends new
// parameters right after its first keyframe).
func numberedName(prefix string, t time.Time, n int) string {
	if n < 2 {
		return SegmentName(prefix, t)
	}
	return fmt.Sprintf("%s_%s-%d.%s", prefix, t.UTC().Format(stampLayout), n, Ext)
}

// parseName is the start time SegmentName or numberedName put in name, if
// it did.
func parseName(prefix, name string) (time.Time, bool) {
	stamp := strings.TrimSuffix(strings.TrimPrefix(name, prefix+"_"), "."+Ext)
	if i := strings.LastIndexByte(stamp, '-'); i > 0 {
		stamp = stamp[:i]
	}
	t, err := time.Parse(stampLayout, stamp)
	return t, err == nil
}
