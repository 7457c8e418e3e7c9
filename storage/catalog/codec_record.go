package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Frozen code tables of formatV1: a value written once is read forever, so
// entries are only ever appended, never reordered or removed.
var (
	stateCodes  = []string{"staged", "verified", "archived", "missing", "corrupt", "expiring", "expired"}
	sourceCodes = []string{"dock", "room"}
	kindCodes   = []string{"", "video", "photo", "audio", "other"}
	extCodes    = []string{"", "MP4", "mp4", "AVI", "avi", "MOV", "mov", "JPG", "jpg", "WAV", "wav", "TS", "ts", "MKV", "mkv"}
)

// encodeRecording is r's value in the recordings bucket: formatV1 when it
// decodes to exactly r's JSON, else that JSON.
func encodeRecording(r *Recording) ([]byte, error) {
	want, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	v := appendRecordingV1(make([]byte, 0, 320), r)
	got, err := decodeRecording(v)
	if err != nil {
		return want, nil //nolint:nilerr // the JSON is the value then
	}
	if b, err := json.Marshal(&got); err != nil || !bytes.Equal(b, want) {
		return want, nil //nolint:nilerr // a field the encoding cannot hold: keep JSON
	}
	return v, nil
}

// decodeRecording reads a recordings value of either format.
func decodeRecording(v []byte) (Recording, error) {
	var r Recording
	if len(v) > 0 && v[0] == formatJSON {
		err := json.Unmarshal(v, &r)
		return r, err
	}
	if len(v) == 0 || v[0] != formatV1 {
		return r, fmt.Errorf("unknown value format %#x", firstByte(v))
	}
	d := &decoder{b: v[1:]}
	readRecordingV1(d, &r)
	if d.err == nil && len(d.b) != 0 {
		return r, fmt.Errorf("%d bytes after the record", len(d.b))
	}
	return r, d.err
}

func firstByte(v []byte) byte {
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// appendRecordingV1 writes every field of r in declaration order; a field
// added to Recording must be added here and in readRecordingV1, at the
// end, or its records stay JSON (TestRecordingFormatV1 fails first).
func appendRecordingV1(b []byte, r *Recording) []byte {
	e := &encoder{b: append(b, formatV1)}
	e.uvarint(r.ID)
	e.str(r.Station)
	e.code(string(r.Source), sourceCodes)
	e.str(r.SourceID)
	e.str(r.Slot)
	e.str(r.Device)
	e.str(r.Officer)
	e.str(r.Profile)
	e.str(r.Name)
	e.raw(r.NameRaw)
	// A path below the camera folder mostly ends in the name: its folder
	// is stored, and a flag.
	if dir, ok := strings.CutSuffix(r.RelPath, r.Name); ok && r.Name != "" {
		e.byte(1)
		e.str(dir)
	} else {
		e.byte(0)
		e.str(r.RelPath)
	}
	e.code(r.Ext, extCodes)
	e.code(r.Kind, kindCodes)
	e.varint(int64(r.Seq))
	e.time(r.StartedAt)
	e.relTo(r.StartedAt)
	for _, t := range []time.Time{r.CameraTime, r.ModTime, r.ReceivedAt} {
		e.time(t)
	}
	e.varint(int64(r.CameraClockOffset))
	e.str(r.CameraClockBasis)
	e.varint(r.Size)
	e.hash(r.SHA256)
	e.bool(r.Important)
	e.bool(r.Locked)
	e.strs(r.Flags)
	e.code(string(r.State), stateCodes)
	for _, t := range []time.Time{r.StagedAt, r.VerifiedAt, r.ReleasedAt} {
		e.time(t)
	}
	e.raw(r.PendingRelease)
	e.time(r.UpdatedAt)
	if r.ArchiveKey != "" && r.ArchiveKey == usualArchiveKey(r) {
		e.byte(1)
	} else {
		e.byte(0)
		e.str(r.ArchiveKey)
	}
	e.str(r.ArchiveVersion)
	e.time(r.ArchivedAt)
	e.time(r.RetainUntil)
	e.bool(r.LegalHold)
	e.varint(int64(r.UploadAttempts))
	e.str(r.LastUploadError)
	e.uvarint(uint64(len(r.Holds)))
	for _, h := range r.Holds {
		e.str(h.Reason)
		e.str(h.By)
		e.time(h.At)
		e.str(h.Why)
		e.str(h.Case)
	}
	e.strs(r.Cases)
	e.time(r.EvictedAt)
	e.time(r.ExpiringAt)
	e.str(r.DeleteMarker)
	e.time(r.ExpiredAt)
	e.str(r.Intent)
	e.time(r.IntentAt)
	e.time(r.EndedAt)
	e.strs(r.Codecs)
	e.str(r.Case)
	e.str(r.Subject)
	e.strs(r.Officers)
	e.uvarint(uint64(len(r.Sessions)))
	for _, s := range r.Sessions {
		e.uvarint(s)
	}
	return e.b
}

func readRecordingV1(d *decoder, r *Recording) {
	readRecordingHead(d, r)
	r.Important, r.Locked = d.bool(), d.bool()
	r.Flags = d.strs()
	r.State = State(d.code(stateCodes))
	r.StagedAt, r.VerifiedAt, r.ReleasedAt = d.time(), d.time(), d.time()
	r.PendingRelease = d.raw()
	r.UpdatedAt = d.time()
	if d.byte() == 1 {
		r.ArchiveKey = usualArchiveKey(r) // every field it reads is decoded by now
	} else {
		r.ArchiveKey = d.str()
	}
	r.ArchiveVersion = d.str()
	r.ArchivedAt, r.RetainUntil = d.time(), d.time()
	r.LegalHold = d.bool()
	r.UploadAttempts = int(d.varint())
	r.LastUploadError = d.str()
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
		r.Holds = make([]Hold, n)
		for i := range r.Holds {
			h := &r.Holds[i]
			h.Reason, h.By, h.At, h.Why, h.Case = d.str(), d.str(), d.time(), d.str(), d.str()
		}
	} else if n > 0 {
		d.fail()
	}
	r.Cases = d.strs()
	r.EvictedAt, r.ExpiringAt = d.time(), d.time()
	r.DeleteMarker = d.str()
	r.ExpiredAt = d.time()
	r.Intent = d.str()
	r.IntentAt, r.EndedAt = d.time(), d.time()
	r.Codecs = d.strs()
	r.Case, r.Subject = d.str(), d.str()
	r.Officers = d.strs()
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
		r.Sessions = make([]uint64, n)
		for i := range r.Sessions {
			r.Sessions[i] = d.uvarint()
		}
	} else if n > 0 {
		d.fail()
	}
}

// readRecordingHead reads the fields up to SHA256, all an event needs.
func readRecordingHead(d *decoder, r *Recording) {
	r.ID = d.uvarint()
	r.Station = d.str()
	r.Source = Source(d.code(sourceCodes))
	r.SourceID, r.Slot, r.Device, r.Officer, r.Profile, r.Name = d.str(), d.str(), d.str(), d.str(), d.str(), d.str()
	r.NameRaw = d.raw()
	if d.byte() == 1 {
		r.RelPath = d.str() + r.Name
	} else {
		r.RelPath = d.str()
	}
	r.Ext, r.Kind = d.code(extCodes), d.code(kindCodes)
	r.Seq = int(d.varint())
	r.StartedAt = d.time()
	d.relTo(r.StartedAt)
	r.CameraTime, r.ModTime, r.ReceivedAt = d.time(), d.time(), d.time()
	r.CameraClockOffset = time.Duration(d.varint())
	r.CameraClockBasis = d.str()
	r.Size = d.varint()
	r.SHA256 = d.hash()
}

// usualArchiveKey is the key storage/upload gives r's object today
// (upload.ObjectKey): <station>/<yyyy>/<mm>/<dd>/<officer-or-room>/<sha256>.<ext>.
// A record whose key is this one stores a flag instead of 90 bytes; any
// other key, as from an older layout, is stored as it is. It is part of
// binary format 1 and must never change, even if ObjectKey does: a flag
// written today is decoded with it for ever. So it is kept here, not shared
// with the uploader; a key ObjectKey makes otherwise is just stored whole.
func usualArchiveKey(r *Recording) string {
	who := r.Officer
	if who == "" && r.Source == SourceRoom {
		who = r.SourceID
	}
	if who == "" {
		who = "unknown"
	}
	ext := r.Ext
	if ext == "" {
		ext = "bin"
	}
	return r.Station + "/" + r.StartedAt.UTC().Format("2006/01/02") + "/" + who + "/" + r.SHA256 + "." + ext
}
