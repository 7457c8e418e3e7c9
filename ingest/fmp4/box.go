package fmp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

// readHeader reads the header of the box at pos in r, which ends at limit.
func readHeader(r io.ReaderAt, pos, limit int64) (box, bool, error) {
	var b [maxHeader]byte
	n, err := r.ReadAt(b[:min(maxHeader, max(limit-pos, 0))], pos)
	if err != nil && err != io.EOF {
		return box{}, false, err
	}
	bx, ok := header(b[:n], pos, limit)
	return bx, ok, nil
}

// readBox reads a whole box from r into memory, refusing one larger than
// maxBox: recovery reads only init and fragment headers, never media.
func readBox(r io.ReaderAt, bx box) ([]byte, error) {
	if bx.end-bx.start > maxBox {
		return nil, fmt.Errorf("%s box of %d bytes at %d: %w", bx.typ, bx.end-bx.start, bx.start, errTooLarge)
	}
	b := make([]byte, bx.end-bx.start)
	if _, err := r.ReadAt(b, bx.start); err != nil {
		return nil, fmt.Errorf("read %s box at %d: %w", bx.typ, bx.start, err)
	}
	return b, nil
}

// maxBox bounds the moov or moof recovery reads at once. The writer's are a
// few KiB: a moof holds at most a couple of seconds of sample entries.
const maxBox = 4 << 20

var errTooLarge = errors.New("box too large to read into memory")

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
