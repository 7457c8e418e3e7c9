package fmp4

import (
	"encoding/binary"
)

// box is one ISO BMFF box: bytes [start, end), payload from start+hdr.
// Offsets are into a buffer or a file, whichever the box was read from.
type box struct {
	typ        string
	start, end int64
	hdr        int64
}

// maxHeader is the longest box header: size, type and a 64-bit size.
const maxHeader = 16

// header decodes the box header at the start of b, found at offset pos,
// where the enclosing space ends at limit. ok is false when the header is
// cut short or the box does not fit before limit.
func header(b []byte, pos, limit int64) (bx box, ok bool) {
	if len(b) < 8 || pos+8 > limit {
		return box{}, false
	}
	size, hdr := int64(binary.BigEndian.Uint32(b)), int64(8)
	if size == 1 {
		if len(b) < maxHeader || pos+maxHeader > limit {
			return box{}, false
		}
		size, hdr = int64(binary.BigEndian.Uint64(b[8:])), maxHeader
	}
	if size < hdr || size > limit-pos {
		return box{}, false
	}
	return box{typ: string(b[4:8]), start: pos, end: pos + size, hdr: hdr}, true
}

// boxes lists the boxes in b[from:to]; it stops at the first box that does
// not fit and reports where the last complete one ended.
func boxes(b []byte, from, to int64) (out []box, complete int64) {
	pos := from
	for pos < to {
		bx, ok := header(b[pos:to], pos, to)
		if !ok {
			return out, pos
		}
		out = append(out, bx)
		pos = bx.end
	}
	return out, pos
}

// child is the n-th (from 0) box of type typ inside parent, whose children
// start skip bytes into its payload.
func child(b []byte, parent box, skip int64, typ string, n int) (box, bool) {
	list, _ := boxes(b, parent.start+parent.hdr+skip, parent.end)
	for _, c := range list {
		if c.typ == typ {
			if n == 0 {
				return c, true
			}
			n--
		}
	}
	return box{}, false
}

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
