package fmp4

import (
	"errors"
	"io"
	"time"
)

// errFragments marks fragments mediacommon's fmp4.Parts.Unmarshal would
// refuse; recovery then knows no media time, as it always did.
var errFragments = errors.New("malformed fragments")

// Flags and limits as mediacommon reads them.
const (
	trunDataOffset     = 0x001
	trunFirstFlags     = 0x004
	trunSampleDuration = 0x100
	trunSampleSize     = 0x200
	trunSampleFlags    = 0x400
	trunSampleCTO      = 0x800
	tfhdBaseOffset     = 0x01
	tfhdDescription    = 0x02
	tfhdDuration       = 0x08
	tfhdSize           = 0x10
	maxSamplesPerTrun  = 120 * 160
)

// partState is where the reader is in moof, mfhd, traf..., mdat.
type partState int

const (
	waitingMoof partState = iota
	waitingMfhd
	waitingTraf
	waitingTrackBoxes // tfhd, tfdt, trun
)

// fragmentReader reads the media time of the fragments in [from, to) of a
// segment from their moof boxes alone, never the media. It follows
// mediacommon's fmp4.Parts.Unmarshal box by box, so a file that parses
// there gives the same times here and one that does not parse gives none.
type fragmentReader struct {
	r        io.ReaderAt
	from, to int64
	scales   map[int]uint32 // timescale by track id, from the init

	state  partState
	moofAt int64 // file offset of the current moof

	// The current track fragment (traf).
	hadTrack    bool // one was seen; mediacommon checks it at the next traf or mdat
	counted     bool // its end is in longest
	id          int
	base        uint64
	ticks       int64 // sum of its sample durations
	defDuration uint32
	defSize     uint32
	haveTfhd    bool
	haveTfdt    bool
	haveSamples bool

	longest time.Duration
}

// mediaDuration is the longest track's end in media time over the
// fragments in [from, to) of r; 0 when they do not parse.
func mediaDuration(r io.ReaderAt, from, to int64, scales map[int]uint32) (time.Duration, error) {
	p := &fragmentReader{r: r, from: from, to: to, scales: scales}
	err := p.read()
	if errors.Is(err, errFragments) {
		return 0, nil
	}
	return p.longest, err
}

// read walks the top-level boxes, reading into memory only those whose
// contents mediacommon looks at: never an mdat.
func (p *fragmentReader) read() error {
	for pos := p.from; pos < p.to; {
		bx, ok, err := readHeader(p.r, pos, p.to)
		if err != nil {
			return err
		}
		if !ok {
			return errFragments
		}
		pos = bx.end
		if bx.typ == "mdat" {
			if err := p.mdat(); err != nil {
				return err
			}
			continue
		}
		if !p.reads(bx.typ) {
			continue
		}
		b, err := readBox(p.r, bx)
		if errors.Is(err, errTooLarge) {
			return errFragments
		}
		if err != nil {
			return err
		}
		if err := p.visit(b, box{typ: bx.typ, start: 0, end: int64(len(b)), hdr: bx.hdr}, bx.start); err != nil {
			return err
		}
	}
	if p.state != waitingMoof {
		return errFragments
	}
	return nil
}

func (p *fragmentReader) reads(typ string) bool {
	switch typ {
	case "moof", "mfhd", "traf", "tfhd", "tfdt", "trun":
		return true
	}
	return false
}

// visit handles box bx of b, where b starts at file offset at, and the
// boxes inside a moof or traf it accepts.
func (p *fragmentReader) visit(b []byte, bx box, at int64) error {
	payload := b[bx.start+bx.hdr : bx.end]
	var err error
	expand := false
	switch bx.typ {
	case "moof":
		err, expand = p.moof(at+bx.start), true
	case "mfhd":
		err = p.mfhd(payload)
	case "traf":
		err, expand = p.traf(), true
	case "tfhd":
		err = p.tfhd(payload)
	case "tfdt":
		err = p.tfdt(payload)
	case "trun":
		err = p.trun(b[bx.start:], payload, at+bx.start)
	case "mdat":
		err = p.mdat()
	}
	if err != nil || !expand {
		return err
	}
	// Children must fill their parent exactly.
	kids, end := boxes(b, bx.start+bx.hdr, bx.end)
	if end != bx.end {
		return errFragments
	}
	for _, k := range kids {
		if err := p.visit(b, k, at); err != nil {
			return err
		}
	}
	return nil
}

func (p *fragmentReader) moof(at int64) error {
	if p.state != waitingMoof {
		return errFragments
	}
	p.state, p.moofAt = waitingMfhd, at
	return nil
}

func (p *fragmentReader) mfhd(payload []byte) error {
	if p.state != waitingMfhd || len(payload) < 8 {
		return errFragments
	}
	p.state = waitingTraf
	return nil
}

func (p *fragmentReader) traf() error {
	if err := p.endTrack(); err != nil {
		return err
	}
	p.hadTrack, p.counted = true, false
	p.id, p.base, p.ticks = 0, 0, 0
	p.haveTfhd, p.haveTfdt, p.haveSamples = false, false, false
	p.state = waitingTrackBoxes
	return nil
}

func (p *fragmentReader) mdat() error {
	if err := p.endTrack(); err != nil {
		return err
	}
	p.state = waitingMoof
	return nil
}

// endTrack checks that a traf or mdat comes inside a fragment, after its
// mfhd, and that the track fragment before it is complete, and counts its
// end.
func (p *fragmentReader) endTrack() error {
	if p.state != waitingTraf && p.state != waitingTrackBoxes {
		return errFragments
	}
	if !p.hadTrack {
		return nil
	}
	if !p.haveTfdt || !p.haveTfhd || !p.haveSamples {
		return errFragments
	}
	if !p.counted {
		if scale := p.scales[p.id]; scale != 0 {
			end := int64(p.base) + p.ticks
			p.longest = max(p.longest, time.Duration(ticksToNS(end, int(scale))))
		}
		p.counted = true
	}
	return nil
}

func (p *fragmentReader) tfhd(payload []byte) error {
	if p.state != waitingTrackBoxes || p.haveTfhd || len(payload) < 8 {
		return errFragments
	}
	flags := fullBoxFlags(payload)
	p.id = int(be32(payload[4:]))
	rest := payload[8:]
	p.defDuration, p.defSize = 0, 0
	fields := []struct {
		flag uint32
		size int
		into *uint32
	}{{tfhdBaseOffset, 8, nil}, {tfhdDescription, 4, nil}, {tfhdDuration, 4, &p.defDuration}, {tfhdSize, 4, &p.defSize}}
	for _, f := range fields {
		if flags&f.flag == 0 {
			continue
		}
		if len(rest) < f.size {
			return errFragments
		}
		if f.into != nil {
			*f.into = be32(rest)
		}
		rest = rest[f.size:]
	}
	p.haveTfhd = true
	return nil
}

func (p *fragmentReader) tfdt(payload []byte) error {
	if p.state != waitingTrackBoxes || p.haveTfdt || len(payload) < 4 {
		return errFragments
	}
	if payload[0] != 1 || len(payload) < 12 {
		return errFragments // mediacommon reads only version 1
	}
	p.base = uint64(be32(payload[4:]))<<32 | uint64(be32(payload[8:]))
	p.haveTfdt = true
	return nil
}

// trun adds the durations of a track run, checking, as mediacommon does,
// that its samples lie within the fragments parsed. raw is the box from
// its start, at file offset at.
func (p *fragmentReader) trun(raw, payload []byte, at int64) error {
	if p.state != waitingTrackBoxes || !p.haveTfhd {
		return errFragments
	}
	if len(raw) >= 16 && be32(raw[12:]) > maxSamplesPerTrun {
		return errFragments
	}
	if len(payload) < 8 {
		return errFragments
	}
	flags, count := fullBoxFlags(payload), int64(be32(payload[4:]))
	if flags&trunDataOffset == 0 || len(payload) < 12 {
		return errFragments
	}
	dataOffset := int64(int32(be32(payload[8:])))
	entries := payload[12:]
	if flags&trunFirstFlags != 0 {
		if len(entries) < 4 {
			return errFragments
		}
		entries = entries[4:]
	}
	stride := 0
	for _, f := range []uint32{trunSampleDuration, trunSampleSize, trunSampleFlags, trunSampleCTO} {
		if flags&f != 0 {
			stride += 4
		}
	}
	if int64(len(entries)) < count*int64(stride) {
		return errFragments
	}
	return p.samples(entries, flags, count, stride, dataOffset)
}

// samples adds count trun entries of stride bytes; their data must start
// at dataOffset from the moof, within the parsed fragments, and end before
// they do.
func (p *fragmentReader) samples(entries []byte, flags uint32, count int64, stride int, dataOffset int64) error {
	pos := p.moofAt - p.from + dataOffset // into the parsed fragments
	if pos < 0 || pos > p.to-p.from {
		return errFragments
	}
	left := p.to - p.from - pos
	for i := range count {
		e := entries[i*int64(stride):]
		d, size := p.defDuration, p.defSize
		if flags&trunSampleDuration != 0 {
			d, e = be32(e), e[4:]
		}
		if flags&trunSampleSize != 0 {
			size = be32(e)
		}
		if left < int64(size) {
			return errFragments
		}
		left -= int64(size)
		p.ticks += int64(d)
	}
	p.haveSamples = true
	return nil
}

func fullBoxFlags(payload []byte) uint32 { return be32(payload) & 0xffffff }
