package fmp4

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// marshalInit writes the fMP4 initialization (ftyp, moov) for tracks; track
// i gets fMP4 id i+1.
func marshalInit(tracks []*trackState) ([]byte, error) {
	init := fmp4.Init{}
	for _, t := range tracks {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: t.id, TimeScale: uint32(t.clockRate), Codec: t.codec})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("write init: %w", err)
	}
	b := buf.Bytes()
	for i, t := range tracks {
		if t.entry == "" {
			continue
		}
		if err := renameSampleEntry(b, i, "ipcm", t.entry); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// renameSampleEntry renames the sample entry of the n-th track from old to
// typ and turns its child boxes into 'free' boxes: the bytes stay in place.
func renameSampleEntry(b []byte, n int, old, typ string) error {
	top, _ := boxes(b, 0, int64(len(b)))
	var moov box
	for _, t := range top {
		if t.typ == "moov" {
			moov = t
		}
	}
	path := []struct {
		typ  string
		skip int64
		n    int
	}{{"trak", 0, n}, {"mdia", 0, 0}, {"minf", 0, 0}, {"stbl", 0, 0}, {"stsd", 0, 0}, {old, 8, 0}}
	cur, ok := moov, moov.typ == "moov"
	for _, p := range path {
		if !ok {
			break
		}
		cur, ok = child(b, cur, p.skip, p.typ, p.n)
	}
	if !ok {
		return fmt.Errorf("write init: track %d has no %s sample entry", n+1, old)
	}
	copy(b[cur.start+4:], typ)
	// AudioSampleEntry: 8 bytes SampleEntry + 20 bytes of audio fields.
	kids, _ := boxes(b, cur.start+cur.hdr+28, cur.end)
	for _, k := range kids {
		copy(b[k.start+4:], "free")
	}
	return nil
}

// initInfo is what recovery reads from a segment's moov: each track's
// timescale by id, and the codec names in track order.
type initInfo struct {
	scales map[int]uint32
	codecs []string
}

// readInit adds the tracks of one moov box, b, to info.
func (info *initInfo) readInit(b []byte) {
	if info.scales == nil {
		info.scales = map[int]uint32{}
	}
	moov, ok := header(b, 0, int64(len(b)))
	if !ok {
		return
	}
	for i := 0; ; i++ {
		trak, ok := child(b, moov, 0, "trak", i)
		if !ok {
			return
		}
		if id, scale, ok := trackTiming(b, trak); ok {
			info.scales[id] = scale
		}
		if name, ok := trackCodec(b, trak); ok {
			info.codecs = append(info.codecs, name)
		}
	}
}

// trackTiming reads a track's id (tkhd) and timescale (mdhd).
func trackTiming(b []byte, trak box) (id int, scale uint32, ok bool) {
	tkhd, ok1 := child(b, trak, 0, "tkhd", 0)
	mdia, ok2 := child(b, trak, 0, "mdia", 0)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	mdhd, ok := child(b, mdia, 0, "mdhd", 0)
	if !ok {
		return 0, 0, false
	}
	return int(fullBoxField(b, tkhd)), fullBoxField(b, mdhd), true
}

// fullBoxField reads the 32-bit field after the creation and modification
// times of a tkhd (track id) or mdhd (timescale), or 0 when it is cut short.
func fullBoxField(b []byte, bx box) uint32 {
	p := bx.start + bx.hdr
	if p >= bx.end {
		return 0
	}
	off := int64(12) // version/flags, creation, modification (32-bit)
	if b[p] == 1 {
		off = 20
	}
	if p+off+4 > bx.end {
		return 0
	}
	return be32(b[p+off:])
}

// trackCodec names a track from its first sample entry.
func trackCodec(b []byte, trak box) (string, bool) {
	cur, ok := trak, true
	for _, typ := range []string{"mdia", "minf", "stbl", "stsd"} {
		if cur, ok = child(b, cur, 0, typ, 0); !ok {
			return "", false
		}
	}
	entries, _ := boxes(b, cur.start+cur.hdr+8, cur.end)
	if len(entries) == 0 {
		return "", false
	}
	switch entries[0].typ {
	case "avc1":
		return CodecH264, true
	case "hvc1", "hev1":
		return CodecH265, true
	case "mp4a":
		return CodecAAC, true
	case "ulaw":
		return CodecULaw, true
	case "alaw":
		return CodecALaw, true
	default:
		return entries[0].typ, true
	}
}
