package fmp4_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	mcfmp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"custodian/ingest/fmp4"
	"custodian/ingest/fmp4/fmp4test"
	"custodian/internal/digest"
)

const room = "interview-9"

// crashed writes seconds of media into an hour-long segment and leaves it as
// a crash would: half of the next fragment's first box on disk. It returns
// the path and how many bytes were complete fragments.
func crashed(t *testing.T, dir string, seconds int) (path string, good int64) {
	t.Helper()
	s := fmp4.NewSegmenter(dir, room, time.Hour, time.Second, fmp4test.Tracks())
	fmp4test.Feed(t, s, t0, seconds)
	cur := s.Current()
	f, err := os.OpenFile(cur.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0, 0, 0x10, 0, 'm', 'o', 'o', 'f', 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.Abandon()
	return cur.Path, cur.Size
}

func TestRepairCutsToLastCompleteFragment(t *testing.T) {
	path, good := crashed(t, t.TempDir(), 4)
	seg, err := fmp4.Repair(path, room)
	if err != nil {
		t.Fatal(err)
	}
	if !seg.Recovered || seg.Size != good || seg.Path != path || seg.Name != filepath.Base(path) {
		t.Errorf("repaired %+v, want flagged recovered, size %d", seg, good)
	}
	if !seg.Start.Equal(t0) || seg.End.Sub(t0) < 3*time.Second || seg.End.Sub(t0) > 4*time.Second {
		t.Errorf("repaired span %s - %s", seg.Start, seg.End)
	}
	if len(seg.Codecs) != 2 || seg.Codecs[0] != fmp4.CodecH264 || seg.Codecs[1] != fmp4.CodecULaw {
		t.Errorf("codecs %v", seg.Codecs)
	}
	sha, n, err := digest.SumFile(path)
	if err != nil || sha != seg.SHA256 || n != good {
		t.Errorf("file on disk %s/%d (%v), repaired segment says %s/%d", sha, n, err, seg.SHA256, good)
	}
}

func TestRepairWithoutFragment(t *testing.T) {
	init, err := fmp4.MarshalInit(fmp4test.Tracks())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), fmp4.SegmentName(room, t0))
	if err := os.WriteFile(path, init, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := fmp4.Repair(path, room); !errors.Is(err, fmp4.ErrNoFragment) {
		t.Fatalf("repair of an init alone: %v, want ErrNoFragment", err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, init) {
		t.Errorf("the file changed: %v", err)
	}
}

// written records seconds of the synthetic stream, each video frame padded
// by pad bytes, into one segment left open as a crash leaves it. It returns
// the path and where each fragment ends, the init's end first.
func written(t *testing.T, seconds, pad int) (path string, ends []int64) {
	t.Helper()
	s := fmp4.NewSegmenter(t.TempDir(), room, time.Hour, time.Second, fmp4test.Tracks())
	for tick := 0; tick < seconds*50; tick++ {
		for _, u := range fmp4test.Units(tick, t0.Add(time.Duration(tick)*20*time.Millisecond)) {
			if len(u.AU) > 0 {
				last := len(u.AU) - 1
				u.AU[last] = append(append([]byte(nil), u.AU[last]...), make([]byte, pad)...)
			}
			if _, err := s.Push(u); err != nil && err != fmp4.ErrNotReady {
				t.Fatal(err)
			}
			if size := s.Current().Size; size > 0 && (len(ends) == 0 || size != ends[len(ends)-1]) {
				ends = append(ends, size)
			}
		}
	}
	path = s.Current().Path
	s.Abandon()
	return path, ends
}

// wholeFile is what recovery made of a file of bytes b cut at its last
// complete fragment, good, when it read the file whole: its media time as
// mediacommon parses the fragments after the init, which ends at initEnd.
func wholeFile(b []byte, initEnd, good int64) time.Duration {
	var parts mcfmp4.Parts
	if err := parts.Unmarshal(b[initEnd:good]); err != nil {
		return 0
	}
	scales := map[int]int64{1: 90000, 2: 8000}
	var longest time.Duration
	for _, p := range parts {
		for _, tr := range p.Tracks {
			end := int64(tr.BaseTime)
			for _, s := range tr.Samples {
				end += int64(s.Duration)
			}
			rate := scales[tr.ID]
			longest = max(longest, time.Duration(end/rate*1e9+end%rate*1e9/rate))
		}
	}
	return longest
}

// TestRepairMatchesWholeFileReading cuts a many-fragment segment at and
// around every fragment boundary, and damages one, and checks that the
// streaming repair leaves the bytes and reads the times that reading the
// whole file did.
func TestRepairMatchesWholeFileReading(t *testing.T) {
	path, ends := written(t, 6, 300)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ends) < 6 {
		t.Fatalf("only %d fragments written", len(ends)-1)
	}
	type variant struct {
		name string
		b    []byte
	}
	var variants []variant
	for _, e := range ends {
		for _, cut := range []int64{e - 1, e, e + 7} {
			if cut <= int64(len(whole)) {
				variants = append(variants, variant{"cut at " + strconv.FormatInt(cut, 10), whole[:cut]})
			}
		}
	}
	// mediacommon reads only version 1 tfdt boxes: a version 0 in the last
	// fragment makes the media time unknown, and the cut stays the same.
	damaged := append([]byte(nil), whole...)
	if i := bytes.LastIndex(damaged, []byte("tfdt")); i > 0 {
		damaged[i+4] = 0
	}
	variants = append(variants, variant{"tfdt version 0", damaged})

	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var good int64
			for _, e := range ends[1:] {
				if e <= int64(len(v.b)) {
					good = e
				}
			}
			p := filepath.Join(t.TempDir(), filepath.Base(path))
			if err := os.WriteFile(p, v.b, 0o640); err != nil {
				t.Fatal(err)
			}
			seg, err := fmp4.Repair(p, room)
			if good == 0 {
				if !errors.Is(err, fmp4.ErrNoFragment) {
					t.Fatalf("repair: %v, want ErrNoFragment", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(v.b[:good])
			after, _ := os.ReadFile(p)
			if seg.Size != good || int64(len(after)) != good || seg.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("repaired to %d bytes (%d on disk), sha %s; want %d bytes", seg.Size, len(after), seg.SHA256, good)
			}
			if want := t0.Add(wholeFile(v.b, ends[0], good)); !seg.End.Equal(want) || !seg.Start.Equal(t0) {
				t.Errorf("span %s - %s, want %s - %s", seg.Start, seg.End, t0, want)
			}
		})
	}
}

// countingReader is an io.ReaderAt that counts what is read through it.
type countingReader struct {
	r              io.ReaderAt
	mu             sync.Mutex
	total, largest int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.mu.Lock()
	c.total += int64(n)
	c.largest = max(c.largest, int64(n))
	c.mu.Unlock()
	return n, err
}

// TestRepairReadsHeadersOnly repairs a segment of tens of MiB: recovery
// reads a tiny part of it, never more than a few KiB at once, and Repair's
// allocations stay far below the file's size (only the hash reads it all,
// through a fixed buffer).
func TestRepairReadsHeadersOnly(t *testing.T) {
	path, ends := written(t, 20, 40<<10)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 16<<20 {
		t.Fatalf("segment of %d bytes; the test wants a large one", fi.Size())
	}
	cr := &countingReader{r: f}
	good, media, err := fmp4.Inspect(cr, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if good != ends[len(ends)-1] || media < 19*time.Second {
		t.Errorf("inspect: good %d, media %s; want %d, about 20s", good, media, ends[len(ends)-1])
	}
	if cr.total > fi.Size()/1000 || cr.largest > 16<<10 {
		t.Errorf("read %d bytes of %d, at most %d at once: want headers only", cr.total, fi.Size(), cr.largest)
	}
	t.Logf("inspect read %d of %d bytes, at most %d at once", cr.total, fi.Size(), cr.largest)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	seg, err := fmp4.Repair(path, room)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("repair of %d bytes allocated %d bytes", fi.Size(), alloc)
	} else {
		t.Logf("repair of %d bytes allocated %d bytes", fi.Size(), alloc)
	}
	if seg.Size != good || !seg.End.Equal(t0.Add(media)) {
		t.Errorf("repaired %d bytes to %s; inspect said %d, %s", seg.Size, seg.End, good, media)
	}
}
