package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
	"golang.org/x/sys/unix"

	"custodian/storage/staging"
)

// Defaults of RoomConfig's segment layout.
const (
	DefaultSegmentDuration = 10 * time.Minute
	// DefaultFragmentDuration is how much media a fragment holds before it is
	// written and fdatasync'ed: a power cut loses at most about this much.
	DefaultFragmentDuration = time.Second
	// MaxFragmentDuration is the most a power cut may cost.
	MaxFragmentDuration = 2 * time.Second
)

// Codec names as stored, for the catalog and logs.
const (
	codecH264  = "h264"
	codecH265  = "h265"
	codecAAC   = "aac"
	codecULaw  = "pcm_mulaw"
	codecALaw  = "pcm_alaw"
	segmentExt = "mp4"
)

// track is one recorded elementary stream.
type track struct {
	id        int // fMP4 track id, from 1
	name      string
	video     bool
	clockRate int // RTP clock rate = fMP4 timescale
	codec     mp4.Codec
	// entry, when set, replaces the type of mediacommon's sample entry: G.711
	// is written through mediacommon as an 8-bit LPCM placeholder and renamed
	// to QuickTime's 'ulaw'/'alaw', so the camera's bytes are stored unchanged.
	entry string
	// channels is the G.711 channel count: one byte per sample per channel.
	channels int
}

// naturalDuration is the length of an audio payload in clock units, or 0.
func (t *track) naturalDuration(payloadLen int) int64 {
	switch t.name {
	case codecULaw, codecALaw:
		return int64(payloadLen / max(t.channels, 1))
	case codecAAC:
		return 1024
	}
	return 0
}

// marshalInit writes the fMP4 initialization (ftyp, moov) for tracks.
func marshalInit(tracks []*track) ([]byte, error) {
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

// box is one ISO BMFF box inside a buffer: b[start:end], payload from start+hdr.
type box struct {
	typ             string
	start, hdr, end int
}

// boxes lists the boxes in b[from:to]; it stops at the first box that does
// not fit and reports where the last complete one ended.
func boxes(b []byte, from, to int) (out []box, complete int) {
	pos := from
	for pos+8 <= to {
		size := int64(binary.BigEndian.Uint32(b[pos:]))
		hdr := 8
		if size == 1 {
			if pos+16 > to {
				break
			}
			size, hdr = int64(binary.BigEndian.Uint64(b[pos+8:])), 16
		}
		if size < int64(hdr) || int64(pos)+size > int64(to) {
			break
		}
		end := pos + int(size)
		out = append(out, box{typ: string(b[pos+4 : pos+8]), start: pos, hdr: hdr, end: end})
		pos = end
	}
	return out, pos
}

func child(b []byte, parent box, skip int, typ string, n int) (box, bool) {
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

// renameSampleEntry renames the sample entry of the n-th track from old to
// typ and turns its child boxes into 'free' boxes: the bytes stay in place.
func renameSampleEntry(b []byte, n int, old, typ string) error {
	top, _ := boxes(b, 0, len(b))
	var moov box
	for _, t := range top {
		if t.typ == "moov" {
			moov = t
		}
	}
	path := []struct {
		typ  string
		skip int
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

// segmentFile is one open fMP4 file: written append-only, each fragment
// hashed as it is written and fdatasync'ed before the next.
type segmentFile struct {
	f    *os.File
	path string
	hash hash.Hash
	size int64 // bytes written, hashed and synced
	seq  uint32
	buf  seekablebuffer.Buffer
}

func createSegmentFile(path string, init []byte) (*segmentFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	s := &segmentFile{f: f, path: path, hash: sha256.New()}
	if err := s.write(init); err != nil {
		// No media was written: nothing to keep, and an empty segment in
		// the catalog would only mislead.
		f.Close()
		return nil, errors.Join(err, os.Remove(path))
	}
	if err := staging.SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return s, nil
}

func (s *segmentFile) write(b []byte) error {
	if _, err := s.f.Write(b); err != nil {
		return fmt.Errorf("write segment %s: %w", s.path, err)
	}
	if err := unix.Fdatasync(int(s.f.Fd())); err != nil {
		return fmt.Errorf("segment: %w", &os.PathError{Op: "fdatasync", Path: s.path, Err: err})
	}
	s.hash.Write(b)
	s.size += int64(len(b))
	return nil
}

func (s *segmentFile) writePart(tracks []*fmp4.PartTrack) error {
	s.seq++
	s.buf.Reset()
	p := fmp4.Part{SequenceNumber: s.seq, Tracks: tracks}
	if err := p.Marshal(&s.buf); err != nil {
		return fmt.Errorf("write segment %s: %w", s.path, err)
	}
	return s.write(s.buf.Bytes())
}

// finish syncs and closes the file and returns its hash and size.
func (s *segmentFile) finish() (sha string, size int64, err error) {
	err = s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("close segment %s: %w", s.path, err)
	}
	return hex.EncodeToString(s.hash.Sum(nil)), s.size, nil
}

// abandon closes the file after a write error; the bytes written so far stay
// for recovery, which cuts them back to the last complete fragment.
func (s *segmentFile) abandon() { s.f.Close() }

// unit is one access unit (video) or payload (audio) taken from RTP, with the
// station time it arrived and, when the camera sends RTCP sender reports,
// the camera's NTP time of it.
type unit struct {
	track int
	pts   int64 // in the track's clock rate
	at    time.Time
	ntp   time.Time
	au    [][]byte // H.264/H.265 NAL units, AAC access units
	pcm   []byte   // G.711 payload
}

// closedSegment is a finished segment file waiting to be sealed.
type closedSegment struct {
	path       string
	name       string
	sha        string
	size       int64
	startedAt  time.Time
	endedAt    time.Time
	cameraTime time.Time
	codecs     []string
	recovered  bool
}

// trackState is the writer's state of one track within the stream.
type trackState struct {
	*track
	h264DTS *h264.DTSExtractor
	h265DTS *h265.DTSExtractor

	held    *fmp4.Sample // newest sample; its duration is known when the next arrives
	heldDTS int64
	heldAt  time.Time
	lastDur uint32

	pending []*fmp4.Sample
	base    uint64 // tfdt of pending[0] in the open segment
	next    uint64 // tfdt of the next sample appended in the open segment
	begun   bool   // has a sample in the open segment
}

// segmenter turns units into segment files: it cuts at video keyframes once
// a segment is long enough, writes a fragment at least every fragment
// interval of station time and reports each closed segment.
type segmenter struct {
	dir      string
	room     string
	length   time.Duration
	fragment time.Duration

	tracks  []*trackState
	video   *trackState
	cur     *segmentFile
	seg     closedSegment
	startNS int64 // media time (ns) of the open segment's first sample
	lastFlu time.Time
	lastAt  time.Time
	newInit bool // parameters changed: cut at the next keyframe
	// broken is set when a write failed and the open segment was left on
	// disk for recovery.
	broken bool
}

func newSegmenter(dir, room string, length, fragment time.Duration, tracks []*track) *segmenter {
	s := &segmenter{dir: dir, room: room, length: length, fragment: fragment}
	for _, t := range tracks {
		ts := &trackState{track: t}
		s.tracks = append(s.tracks, ts)
		if t.video && s.video == nil {
			s.video = ts
		}
	}
	s.reset()
	return s
}

// reset forgets timing state; the next segment starts at a keyframe.
func (s *segmenter) reset() {
	for _, t := range s.tracks {
		t.h264DTS, t.h265DTS, t.held = nil, nil, nil
	}
}

func (s *segmenter) open() bool { return s.cur != nil }

// errNotReady marks a unit dropped while waiting for a keyframe or timing.
var errNotReady = errors.New("waiting for a keyframe")

// push adds one unit. A returned closedSegment was finished by this unit's
// cut. Write errors leave the segmenter closed; the caller decides.
func (s *segmenter) push(u unit) (*closedSegment, error) {
	t := s.tracks[u.track]
	var samples []*fmp4.Sample
	var dtss []int64
	keyframe := false
	switch t.name {
	case codecH264, codecH265:
		dts, key, err := s.videoDTS(t, u)
		if err != nil {
			return nil, err
		}
		smp := &fmp4.Sample{}
		if t.name == codecH264 {
			err = smp.FillH264(int32(u.pts-dts), u.au)
		} else {
			err = smp.FillH265(int32(u.pts-dts), u.au)
		}
		if err != nil {
			return nil, fmt.Errorf("video sample: %w", err)
		}
		samples, dtss, keyframe = []*fmp4.Sample{smp}, []int64{dts}, key
	case codecAAC:
		for i, au := range u.au {
			samples = append(samples, &fmp4.Sample{Payload: au})
			dtss = append(dtss, u.pts+int64(i)*1024)
		}
	default:
		samples, dtss = []*fmp4.Sample{{Payload: u.pcm}}, []int64{u.pts}
	}
	if len(samples) == 0 {
		return nil, nil
	}
	var closed *closedSegment
	startsHere := keyframe || (s.video == nil && t == s.tracks[0])
	if s.cur != nil && startsHere && (s.newInit || s.mediaSince(t, dtss[0]) >= s.length) {
		c, err := s.closeAt(u.at, t, dtss[0])
		if err != nil {
			return nil, err
		}
		closed = c
	}
	if s.cur == nil {
		if !startsHere {
			return closed, nil // audio before the first keyframe has no segment yet
		}
		if err := s.start(u, t, dtss[0]); err != nil {
			return closed, err
		}
	}
	for i, smp := range samples {
		s.append(t, smp, dtss[i], u.at)
	}
	s.lastAt = u.at
	if u.at.Sub(s.lastFlu) >= s.fragment {
		if err := s.flush(u.at); err != nil {
			return closed, err
		}
	}
	return closed, nil
}

// videoDTS derives the decode time of a video access unit and picks up
// parameter sets sent in-band; before the first keyframe it returns errNotReady.
func (s *segmenter) videoDTS(t *trackState, u unit) (int64, bool, error) {
	if t.name == codecH264 {
		key := h264.IsRandomAccess(u.au)
		if t.h264DTS == nil {
			if !key {
				return 0, false, errNotReady
			}
			t.h264DTS = h264.NewDTSExtractor()
		}
		if key {
			s.updateH264Params(t, u.au)
		}
		dts, err := t.h264DTS.Extract(u.au, u.pts)
		if err != nil {
			t.h264DTS = nil
			return 0, false, fmt.Errorf("h264 timing: %w", err)
		}
		return dts, key, nil
	}
	key := h265.IsRandomAccess(u.au)
	if t.h265DTS == nil {
		if !key {
			return 0, false, errNotReady
		}
		t.h265DTS = h265.NewDTSExtractor()
	}
	if key {
		s.updateH265Params(t, u.au)
	}
	dts, err := t.h265DTS.Extract(u.au, u.pts)
	if err != nil {
		t.h265DTS = nil
		return 0, false, fmt.Errorf("h265 timing: %w", err)
	}
	return dts, key, nil
}

func (s *segmenter) updateH264Params(t *trackState, au [][]byte) {
	c := t.codec.(*mp4.CodecH264)
	sps, pps := c.SPS, c.PPS
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
	}
	if string(sps) != string(c.SPS) || string(pps) != string(c.PPS) {
		t.codec = &mp4.CodecH264{SPS: clone(sps), PPS: clone(pps)}
		s.newInit = true
	}
}

func (s *segmenter) updateH265Params(t *trackState, au [][]byte) {
	c := t.codec.(*mp4.CodecH265)
	vps, sps, pps := c.VPS, c.SPS, c.PPS
	for _, n := range au {
		if len(n) < 2 {
			continue
		}
		switch h265.NALUType((n[0] >> 1) & 0x3f) {
		case h265.NALUType_VPS_NUT:
			vps = n
		case h265.NALUType_SPS_NUT:
			sps = n
		case h265.NALUType_PPS_NUT:
			pps = n
		}
	}
	if string(vps) != string(c.VPS) || string(sps) != string(c.SPS) || string(pps) != string(c.PPS) {
		t.codec = &mp4.CodecH265{VPS: clone(vps), SPS: clone(sps), PPS: clone(pps)}
		s.newInit = true
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// ready reports whether every video track has parameter sets to write an init.
func (s *segmenter) ready() bool {
	for _, t := range s.tracks {
		switch c := t.codec.(type) {
		case *mp4.CodecH264:
			if len(c.SPS) == 0 || len(c.PPS) == 0 {
				return false
			}
		case *mp4.CodecH265:
			if len(c.VPS) == 0 || len(c.SPS) == 0 || len(c.PPS) == 0 {
				return false
			}
		}
	}
	return true
}

func (s *segmenter) mediaSince(t *trackState, dts int64) time.Duration {
	return time.Duration(ticksToNS(dts, t.clockRate) - s.startNS)
}

func ticksToNS(ticks int64, rate int) int64 {
	return ticks/int64(rate)*1e9 + ticks%int64(rate)*1e9/int64(rate)
}

// SegmentName is the file name of a room segment starting at t.
func SegmentName(room string, t time.Time) string {
	return fmt.Sprintf("%s_%s.%s", room, t.UTC().Format("20060102T150405.000Z"), segmentExt)
}

func (s *segmenter) start(u unit, t *trackState, dts int64) error {
	if !s.ready() {
		return errNotReady
	}
	var tracks []*track
	var codecs []string
	for _, ts := range s.tracks {
		tracks = append(tracks, ts.track)
		codecs = append(codecs, ts.name)
	}
	init, err := marshalInit(tracks)
	if err != nil {
		return err
	}
	name := SegmentName(s.room, u.at)
	f, err := createSegmentFile(filepath.Join(s.dir, name), init)
	if err != nil {
		return err
	}
	s.cur, s.newInit = f, false
	s.seg = closedSegment{path: f.path, name: name, startedAt: u.at, cameraTime: u.ntp, codecs: codecs}
	s.startNS = ticksToNS(dts, t.clockRate)
	s.lastFlu = u.at
	for _, ts := range s.tracks {
		ts.pending, ts.begun, ts.base, ts.next = nil, false, 0, 0
		if ts.held != nil {
			// A sample held from the previous segment opens this one.
			s.place(ts, ts.heldDTS)
		}
	}
	return nil
}

// place sets where a track's first sample in the open segment goes.
func (s *segmenter) place(t *trackState, dts int64) {
	off := ticksToNS(dts, t.clockRate) - s.startNS
	t.next = uint64(max(off, 0) * int64(t.clockRate) / 1e9)
	t.base, t.begun = t.next, true
}

func (s *segmenter) append(t *trackState, smp *fmp4.Sample, dts int64, at time.Time) {
	if t.held != nil {
		d := dts - t.heldDTS
		nat := t.naturalDuration(len(t.held.Payload))
		if d <= 0 || d > int64(t.clockRate)*5 || (nat > 0 && (d > nat*10)) {
			d = nat // a jump in the camera's clock or lost packets: keep the track contiguous
			if d == 0 {
				d = int64(t.lastDur)
			}
		}
		t.held.Duration, t.lastDur = uint32(d), uint32(d)
		s.enqueue(t, t.held)
	}
	if !t.begun {
		s.place(t, dts)
	}
	t.held, t.heldDTS, t.heldAt = smp, dts, at
}

func (s *segmenter) enqueue(t *trackState, smp *fmp4.Sample) {
	if len(t.pending) == 0 {
		t.base = t.next
	}
	t.pending = append(t.pending, smp)
	t.next += uint64(smp.Duration)
}

// flush writes what is pending as one fragment and syncs it.
func (s *segmenter) flush(at time.Time) error {
	if s.cur == nil {
		return nil
	}
	var parts []*fmp4.PartTrack
	for _, t := range s.tracks {
		if len(t.pending) > 0 {
			parts = append(parts, &fmp4.PartTrack{ID: t.id, BaseTime: t.base, Samples: t.pending})
		}
	}
	s.lastFlu = at
	if len(parts) == 0 {
		return nil
	}
	if err := s.cur.writePart(parts); err != nil {
		s.cur.abandon()
		s.cur, s.broken = nil, true
		return err
	}
	for _, t := range s.tracks {
		t.pending = nil
	}
	return nil
}

// closeAt ends the open segment where the sample at dts of track cut begins,
// at station time at; held samples of other tracks are written with their
// natural duration.
func (s *segmenter) closeAt(at time.Time, cut *trackState, dts int64) (*closedSegment, error) {
	for _, t := range s.tracks {
		if t.held == nil {
			continue
		}
		if t == cut {
			d := dts - t.heldDTS
			if d <= 0 || d > int64(t.clockRate)*5 {
				d = int64(t.lastDur)
			}
			t.held.Duration, t.lastDur = uint32(d), uint32(d)
			s.enqueue(t, t.held)
			t.held = nil
			continue
		}
		if nat := t.naturalDuration(len(t.held.Payload)); nat > 0 {
			t.held.Duration = uint32(nat)
			s.enqueue(t, t.held)
			t.held = nil
		}
		// A held video sample of a second video track moves to the next segment.
	}
	return s.finish(at)
}

// close ends the open segment after its last sample (a disconnect, a stall,
// shutdown). Held samples get the duration of their predecessor.
func (s *segmenter) close() (*closedSegment, error) {
	if s.cur == nil {
		return nil, nil
	}
	end := s.lastAt
	for _, t := range s.tracks {
		if t.held == nil {
			continue
		}
		d := t.naturalDuration(len(t.held.Payload))
		if d == 0 {
			d = int64(t.lastDur)
		}
		t.held.Duration = uint32(d)
		s.enqueue(t, t.held)
		if e := t.heldAt.Add(time.Duration(ticksToNS(d, t.clockRate))); t == s.video || s.video == nil && e.After(end) {
			end = e
		}
		t.held = nil
	}
	s.reset()
	return s.finish(end)
}

func (s *segmenter) finish(end time.Time) (*closedSegment, error) {
	if err := s.flush(end); err != nil {
		return nil, err
	}
	sha, size, err := s.cur.finish()
	s.cur = nil
	if err != nil {
		return nil, err
	}
	c := s.seg
	c.sha, c.size, c.endedAt = sha, size, end
	if c.endedAt.Before(c.startedAt) {
		c.endedAt = c.startedAt
	}
	return &c, nil
}

// abandon drops the open segment after an error without writing more; the
// file stays in the open directory for recovery.
func (s *segmenter) abandon() {
	if s.cur != nil {
		s.cur.abandon()
		s.cur = nil
	}
	s.reset()
}

// tick writes the pending fragment when the fragment interval has passed
// without a unit to trigger it.
func (s *segmenter) tick(now time.Time) error {
	if s.cur == nil || now.Sub(s.lastFlu) < s.fragment {
		return nil
	}
	return s.flush(now)
}
