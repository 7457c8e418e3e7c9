package fmp4

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"custodian/internal/digest"
)

// ErrNoFragment marks a segment that holds no complete fragment: it was
// created, but a crash or a full disk came before its first fragment.
var ErrNoFragment = errors.New("no media fragment")

// Repair truncates a segment a crash left open to its last complete
// fragment, syncs it, and reads its start (from its name, as SegmentName
// wrote it for prefix; else its modification time), end (from its
// fragments' times), codecs and hash. It reads box headers, the init and
// the fragment headers, never the media, so memory stays small however
// large the file; only the hash streams through all of it.
func Repair(path, prefix string) (*Segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", path, err)
	}
	seg, err := repair(f, prefix)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", path, err)
	}
	return seg, nil
}

func repair(f *os.File, prefix string) (*Segment, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	c, err := inspect(f, fi.Size())
	if err != nil {
		return nil, err
	}
	if c.moovEnd == 0 || c.good == c.moovEnd {
		return nil, ErrNoFragment
	}
	if c.good < fi.Size() {
		if err := f.Truncate(c.good); err != nil {
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("fsync: %w", err)
	}
	sha, n, err := digest.Sum(io.NewSectionReader(f, 0, c.good))
	if err != nil {
		return nil, err
	}
	name := filepath.Base(f.Name())
	start, ok := parseName(prefix, name)
	if !ok {
		// A name not written by custodian: best effort, from the time of
		// the cut if there was one.
		if fi, err = f.Stat(); err != nil {
			return nil, err
		}
		start = fi.ModTime().UTC()
	}
	return &Segment{Path: f.Name(), Name: name, SHA256: sha, Size: n, Start: start,
		End: start.Add(c.media), Codecs: c.init.codecs, Recovered: true}, nil
}

// contents is what recovery reads of a segment of size bytes in r: where
// its complete boxes lie, its init, and its media time.
type contents struct {
	layout
	media time.Duration
}

func inspect(r io.ReaderAt, size int64) (contents, error) {
	l, err := scan(r, size)
	if err != nil || l.moovEnd == 0 || l.good == l.moovEnd {
		return contents{layout: l}, err
	}
	media, err := mediaDuration(r, l.moovEnd, l.good, l.init.scales)
	return contents{layout: l, media: media}, err
}

// layout is what the top-level boxes of a segment say.
type layout struct {
	// good is where the last complete fragment (a moof followed by its
	// mdat) ends; in a file without a complete init, where the complete
	// boxes it has end.
	good int64
	// moovEnd is where the init (the last moov) ends, 0 without one.
	moovEnd int64
	init    initInfo // of every moov
}

// scan walks the top-level box headers of a file of size bytes up to the
// first box that is cut short, reading only the headers and each moov.
func scan(r io.ReaderAt, size int64) (layout, error) {
	var l layout
	prev := ""
	for pos := int64(0); pos < size; {
		bx, ok, err := readHeader(r, pos, size)
		if err != nil || !ok {
			return l, err
		}
		switch bx.typ {
		case "ftyp":
			l.good = bx.end
		case "moov":
			l.good, l.moovEnd = bx.end, bx.end
			if err := l.readMoov(r, bx); err != nil {
				return l, err
			}
		case "mdat":
			if prev == "moof" && l.moovEnd > 0 {
				l.good = bx.end
			}
		}
		prev, pos = bx.typ, bx.end
	}
	return l, nil
}

// readMoov adds the tracks of a moov to the layout. One too large to read
// into memory names no tracks; the writer's are a few KiB.
func (l *layout) readMoov(r io.ReaderAt, bx box) error {
	b, err := readBox(r, bx)
	if errors.Is(err, errTooLarge) {
		return nil
	}
	if err != nil {
		return err
	}
	l.init.readInit(b)
	return nil
}
