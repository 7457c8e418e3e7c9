package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"custodian/internal/digest"
	"custodian/storage/catalog"
)

// errNoMedia marks an open segment that holds no complete fragment.
var errNoMedia = errors.New("no media fragment")

// recoverOpen seals every segment a crash left in the open directory, each
// cut back to its last complete fragment and flagged recovered. It returns
// the end of the newest one, where the crash gap begins.
func (r *Room) recoverOpen(jobs chan<- sealJob) (time.Time, string) {
	ents, err := os.ReadDir(r.openDir)
	if err != nil {
		r.env.Log.Error("cannot list open segments", keyRoom, r.cfg.ID, keyErr, err)
		return time.Time{}, ""
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), "."+segmentExt) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // names sort by start time
	var last time.Time
	for _, name := range names {
		path := filepath.Join(r.openDir, name)
		seg, err := repairSegment(path, r.cfg.ID)
		if errors.Is(err, errNoMedia) {
			// Created, but the crash or a full disk came before its first
			// fragment: it holds no recording.
			if rerr := os.Remove(path); rerr != nil {
				r.env.Log.Error("cannot remove empty open segment", keyRoom, r.cfg.ID, keyPath, path, keyErr, rerr)
			} else {
				r.env.Log.Warn("removed open segment without media", keyRoom, r.cfg.ID, keySegment, name)
			}
			continue
		}
		if err != nil {
			r.env.Log.Error("open segment not recovered; left in place", keyRoom, r.cfg.ID, keyPath, path, keyErr, err)
			r.env.Metrics.Errors.WithLabelValues(string(catalog.SourceRoom), ErrKindStage).Inc()
			continue
		}
		r.env.Log.Warn("recovered open segment", keyRoom, r.cfg.ID, keySegment, name, keySHA, seg.sha, keySize, seg.size)
		jobs <- sealJob{seg: seg}
		if seg.endedAt.After(last) {
			last = seg.endedAt
		}
	}
	return last, catalog.GapCrash
}

// repairSegment truncates an fMP4 file to its last complete fragment, syncs
// it and reads its start (from its name), end (from its fragments' times)
// and hash.
func repairSegment(path, room string) (*closedSegment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", path, err)
	}
	good, moovEnd := completePrefix(b)
	if moovEnd == 0 || good == moovEnd {
		return nil, fmt.Errorf("recover %s: %w", path, errNoMedia)
	}
	if good < len(b) {
		if err := os.Truncate(path, int64(good)); err != nil {
			return nil, fmt.Errorf("recover %s: %w", path, err)
		}
		b = b[:good]
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("recover %s: fsync: %w", path, err)
	}
	name := filepath.Base(path)
	seg := &closedSegment{path: path, name: name, recovered: true, size: int64(len(b))}
	seg.sha, _, err = digest.Sum(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", path, err)
	}
	stamp := strings.TrimSuffix(strings.TrimPrefix(name, room+"_"), "."+segmentExt)
	seg.startedAt, err = time.Parse("20060102T150405.000Z", stamp)
	if err != nil {
		fi, serr := os.Stat(path)
		if serr != nil {
			return nil, fmt.Errorf("recover %s: %w", path, serr)
		}
		seg.startedAt = fi.ModTime().UTC() // a name not written by custodian: best effort
	}
	seg.endedAt = seg.startedAt.Add(mediaDuration(b, moovEnd))
	seg.codecs = initCodecs(b, moovEnd)
	return seg, nil
}

// completePrefix returns the length of b up to its last complete fragment
// (moof followed by its mdat) and where the init (moov) ends; a file without
// a complete init keeps whatever complete boxes it has.
func completePrefix(b []byte) (good, moovEnd int) {
	list, _ := boxes(b, 0, len(b))
	for i, bx := range list {
		switch bx.typ {
		case "ftyp":
			good = bx.end
		case "moov":
			good, moovEnd = bx.end, bx.end
		case "mdat":
			if i > 0 && list[i-1].typ == "moof" && moovEnd > 0 {
				good = bx.end
			}
		}
	}
	return good, moovEnd
}

// mediaDuration is the longest track's media time in the fragments of b.
func mediaDuration(b []byte, moovEnd int) time.Duration {
	if moovEnd == 0 {
		return 0
	}
	scales := trackScales(b[:moovEnd])
	var parts fmp4.Parts
	if err := parts.Unmarshal(b[moovEnd:]); err != nil {
		return 0
	}
	var longest time.Duration
	for _, p := range parts {
		for _, t := range p.Tracks {
			scale := scales[t.ID]
			if scale == 0 {
				continue
			}
			end := int64(t.BaseTime)
			for _, s := range t.Samples {
				end += int64(s.Duration)
			}
			longest = max(longest, time.Duration(ticksToNS(end, int(scale))))
		}
	}
	return longest
}

// trackScales reads each track's id (tkhd) and timescale (mdhd) from an init.
func trackScales(b []byte) map[int]uint32 {
	out := map[int]uint32{}
	top, _ := boxes(b, 0, len(b))
	for _, moov := range top {
		if moov.typ != "moov" {
			continue
		}
		for i := 0; ; i++ {
			trak, ok := child(b, moov, 0, "trak", i)
			if !ok {
				break
			}
			tkhd, ok1 := child(b, trak, 0, "tkhd", 0)
			mdia, ok2 := child(b, trak, 0, "mdia", 0)
			if !ok1 || !ok2 {
				continue
			}
			mdhd, ok := child(b, mdia, 0, "mdhd", 0)
			if !ok {
				continue
			}
			out[readTrackID(b, tkhd)] = readTimescale(b, mdhd)
		}
	}
	return out
}

func readTrackID(b []byte, tkhd box) int {
	p := tkhd.start + tkhd.hdr
	off := 12 // version/flags, creation, modification (32-bit)
	if b[p] == 1 {
		off = 20
	}
	if p+off+4 > tkhd.end {
		return 0
	}
	return int(be32(b[p+off:]))
}

func readTimescale(b []byte, mdhd box) uint32 {
	p := mdhd.start + mdhd.hdr
	off := 12
	if b[p] == 1 {
		off = 20
	}
	if p+off+4 > mdhd.end {
		return 0
	}
	return be32(b[p+off:])
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// initCodecs names the tracks of an init from their sample entries.
func initCodecs(b []byte, moovEnd int) []string {
	var out []string
	top, _ := boxes(b, 0, moovEnd)
	for _, moov := range top {
		if moov.typ != "moov" {
			continue
		}
		for i := 0; ; i++ {
			trak, ok := child(b, moov, 0, "trak", i)
			if !ok {
				break
			}
			cur := trak
			for _, typ := range []string{"mdia", "minf", "stbl", "stsd"} {
				if cur, ok = child(b, cur, 0, typ, 0); !ok {
					break
				}
			}
			if !ok {
				continue
			}
			entries, _ := boxes(b, cur.start+cur.hdr+8, cur.end)
			if len(entries) == 0 {
				continue
			}
			switch entries[0].typ {
			case "avc1":
				out = append(out, codecH264)
			case "hvc1", "hev1":
				out = append(out, codecH265)
			case "mp4a":
				out = append(out, codecAAC)
			case "ulaw":
				out = append(out, codecULaw)
			case "alaw":
				out = append(out, codecALaw)
			default:
				out = append(out, entries[0].typ)
			}
		}
	}
	return out
}
