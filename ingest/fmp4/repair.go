package fmp4

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"custodian/internal/digest"
)

// ErrNoFragment marks a segment that holds no complete fragment: it was
// created, but a crash or a full disk came before its first fragment.
var ErrNoFragment = errors.New("no media fragment")

// Repair truncates a segment a crash left open to its last complete
// fragment, syncs it, and reads its start (from its name, as SegmentName
// wrote it for prefix; else its modification time), end (from its
// fragments' times), codecs and hash.
func Repair(path, prefix string) (*Segment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", path, err)
	}
	good, moovEnd := completePrefix(b)
	if moovEnd == 0 || good == moovEnd {
		return nil, fmt.Errorf("recover %s: %w", path, ErrNoFragment)
	}
	if good < int64(len(b)) {
		if err := os.Truncate(path, good); err != nil {
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
	seg := &Segment{Path: path, Name: name, Recovered: true, Size: int64(len(b))}
	seg.SHA256, _, err = digest.Sum(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", path, err)
	}
	var ok bool
	if seg.Start, ok = parseName(prefix, name); !ok {
		fi, serr := os.Stat(path)
		if serr != nil {
			return nil, fmt.Errorf("recover %s: %w", path, serr)
		}
		seg.Start = fi.ModTime().UTC() // a name not written by custodian: best effort
	}
	init := readInits(b[:moovEnd])
	seg.End = seg.Start.Add(mediaDuration(b, moovEnd, init.scales))
	seg.Codecs = init.codecs
	return seg, nil
}

// completePrefix returns the length of b up to its last complete fragment
// (moof followed by its mdat) and where the init (moov) ends; a file without
// a complete init keeps whatever complete boxes it has.
func completePrefix(b []byte) (good, moovEnd int64) {
	list, _ := boxes(b, 0, int64(len(b)))
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

// readInits reads the tracks of every moov in b.
func readInits(b []byte) initInfo {
	var info initInfo
	top, _ := boxes(b, 0, int64(len(b)))
	for _, bx := range top {
		if bx.typ == "moov" {
			info.readInit(b[bx.start:bx.end])
		}
	}
	return info
}

// mediaDuration is the longest track's media time in the fragments of b.
func mediaDuration(b []byte, moovEnd int64, scales map[int]uint32) time.Duration {
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
