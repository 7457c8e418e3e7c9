package catalog

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// Values of the recordings and events buckets say their format in their
// first byte: '{' is the JSON of schema 2 and before, formatV1 the binary
// encoding of schema 3 (codec_record.go, codec_event.go). Both are read;
// new values are written in formatV1 whenever it gives back exactly the
// JSON the record or event had, and as JSON otherwise, so no value can lose
// a field to the encoding. `custodian catalog compact` rewrites old values.
// Once a release has written formatV1 its layout is frozen: a change is a
// new format byte, read beside the old ones.
const (
	formatJSON = '{'
	formatV1   = 0x01
)

// errShort is a binary value that ends before its fields do.
var errShort = errors.New("binary value truncated")

// timeBase shifts seconds so that times of this century take four or five
// varint bytes.
const timeBase = 1_600_000_000

// encoder writes formatV1. rel shifts the seconds of the times it writes
// once a record's start is written: a record's other times are mostly
// hours or months from its start, two or three varint bytes from it.
type encoder struct {
	b   []byte
	rel int64
}

// relTo makes the times that follow relative to t (the zero time: no shift).
func (e *encoder) relTo(t time.Time) {
	if !t.IsZero() {
		e.rel = t.Unix() - timeBase
	}
}

func (d *decoder) relTo(t time.Time) {
	if !t.IsZero() {
		d.rel = t.Unix() - timeBase
	}
}

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) raw(b []byte)     { e.uvarint(uint64(len(b))); e.b = append(e.b, b...) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bool(v bool)      { e.byte(boolByte(v)) }
func (e *encoder) strs(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// time writes nanoseconds+1 (0: the zero time) and then the seconds; the
// decoded time is in UTC, so a time in another zone does not round-trip
// and its value stays JSON.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(t.Nanosecond()) + 1)
	e.varint(t.Unix() - timeBase - e.rel)
}

// hash writes a lowercase hex SHA-256 as its 32 bytes, anything else as a
// string.
func (e *encoder) hash(s string) {
	if b, ok := hexHash(s); ok {
		e.byte(1)
		e.b = append(e.b, b...)
		return
	}
	e.byte(0)
	e.str(s)
}

func hexHash(s string) ([]byte, bool) {
	if len(s) != 64 {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	if err != nil || hex.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decoder reads what encoder wrote; the first error sticks and every read
// after it returns zero values.
type decoder struct {
	b   []byte
	err error
	rel int64
}

func (d *decoder) fail() { d.err, d.b = errShort, nil }

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) next(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.next(d.uvarint())) }
func (d *decoder) bool() bool  { return d.byte() == 1 }

// raw is a copy (nil when empty): values must not point into bbolt's map.
func (d *decoder) raw() []byte {
	b := d.next(d.uvarint())
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func (d *decoder) strs() []string {
	n := d.uvarint()
	if n == 0 || n > uint64(len(d.b)) {
		if n > 0 {
			d.fail()
		}
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) time() time.Time {
	ns := d.uvarint()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(d.varint()+timeBase+d.rel, int64(ns-1)).UTC()
}

func (d *decoder) hash() string {
	if d.byte() == 1 {
		return hex.EncodeToString(d.next(32))
	}
	return d.str()
}

// code is the 1-based place of s in names, 0 when it is not there (and s
// follows as a string).
func (e *encoder) code(s string, names []string) {
	for i, n := range names {
		if n == s {
			e.uvarint(uint64(i) + 1)
			return
		}
	}
	e.uvarint(0)
	e.str(s)
}

func (d *decoder) code(names []string) string {
	i := d.uvarint()
	switch {
	case i == 0:
		return d.str()
	case i <= uint64(len(names)):
		return names[i-1]
	}
	d.fail()
	return ""
}
