package catalog

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// full is a recording with every field set, so a field the binary
// encoding forgets shows as a record that stays JSON.
func full() Recording {
	t := time.Date(2026, 11, 21, 8, 30, 0, 123456789, time.UTC)
	return Recording{ID: 7, Station: "st01", Source: SourceRoom, SourceID: "room-1", Slot: "3",
		Device: "J0001", Officer: "000123", Profile: "gat947", Name: "a.mp4", NameRaw: []byte{0xff, 'a'},
		RelPath: "DCIM/a.mp4", Ext: "mp4", Kind: "video", Seq: 4, StartedAt: t, CameraTime: t.Add(-time.Hour),
		ModTime: t.Add(time.Minute), ReceivedAt: t.Add(time.Hour), CameraClockOffset: -3 * time.Second,
		CameraClockBasis: ClockAhead, Size: 1 << 40, SHA256: hashHex([]byte("a")), Important: true, Locked: true,
		Flags: []string{FlagClockOffset, "x"}, State: StateExpiring, StagedAt: t.Add(2 * time.Hour),
		VerifiedAt: t.Add(3 * time.Hour), ReleasedAt: t.Add(4 * time.Hour), PendingRelease: []byte("/dock/a"),
		UpdatedAt: t.Add(5 * time.Hour), ArchiveKey: "other/key", ArchiveVersion: "v9", ArchivedAt: t.Add(6 * time.Hour),
		RetainUntil: t.AddDate(0, 6, 0), LegalHold: true, UploadAttempts: 2, LastUploadError: "503",
		Holds: []Hold{{Reason: "evidence", By: "admin", At: t, Why: "case", Case: "C1"}, {Reason: "major-case", By: "b", At: t, Why: "w"}},
		Cases: []string{"C1", "C2"}, EvictedAt: t.Add(7 * time.Hour), ExpiringAt: t.Add(8 * time.Hour), DeleteMarker: "m1",
		ExpiredAt: t.Add(9 * time.Hour), Intent: IntentDelete, IntentAt: t.Add(10 * time.Hour), EndedAt: t.Add(11 * time.Hour),
		Codecs: []string{"h264", "pcm_alaw"}, Case: "C1", Subject: "S", Officers: []string{"1", "2"}, Sessions: []uint64{1, 300}}
}

func TestRecordingFormatV1(t *testing.T) {
	usual := full()
	usual.Officer, usual.ArchiveKey = "000123", ""
	usual.ArchiveKey = usualArchiveKey(&usual)
	for _, tc := range []struct {
		name string
		r    Recording
	}{
		{"every field", full()},
		{"usual archive key", usual},
		{"zero", Recording{}},
		{"state outside the table", Recording{ID: 1, State: "future", Source: "other", SHA256: "not-hex"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := encodeRecording(&tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if v[0] != formatV1 {
				t.Fatalf("stored as %q, want binary", v)
			}
			got, err := decodeRecording(v)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(&tc.r)
			if b, _ := json.Marshal(&got); string(b) != string(want) {
				t.Fatalf("round trip\n got %s\nwant %s", b, want)
			}
			j, _ := json.Marshal(&tc.r)
			t.Logf("%d bytes binary, %d JSON", len(v), len(j))
		})
	}
}

func TestRecordingKeepsJSONWhenBinaryCannot(t *testing.T) {
	r := full()
	r.StartedAt = r.StartedAt.In(time.FixedZone("CST", 8*3600)) // a zone the binary form does not keep
	v, err := encodeRecording(&r)
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != formatJSON {
		t.Fatalf("stored binary; the zone would be lost")
	}
	got, err := decodeRecording(v)
	if err != nil || !got.StartedAt.Equal(r.StartedAt) {
		t.Fatalf("decode: %v %v", got.StartedAt, err)
	}
}

func TestEventFormatV1(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 8, 30, 0, 5, time.UTC)
	prev := hashHex([]byte("prev"))
	x := hashHex([]byte("x"))
	for _, tc := range []struct {
		name   string
		e      Event
		binary bool
	}{
		{"custodian", Event{Seq: 9, Time: t0, Type: EventIngested, Recording: 3, SHA256: x, Actor: ActorCustodian, Detail: "dock a"}, true},
		{"sha in the detail", Event{Seq: 9, Time: t0, Type: EventArchived, Recording: 3, SHA256: x, Actor: ActorCustodian,
			Detail: "st01/2026/11/21/000123/" + x + ".MP4 version v1"}, true},
		{"sha not the record's", Event{Seq: 9, Time: t0, Type: EventIngested, Recording: 4, SHA256: x, Actor: ActorCustodian, Detail: x}, true},
		{"a person, no recording", Event{Seq: 9, Time: t0, Type: "new-kind", Actor: "admin", Detail: "why"}, true},
		{"no actor", Event{Seq: 9, Time: t0, Type: EventHeld}, false},
		{"zone", Event{Seq: 9, Time: t0.In(time.FixedZone("CST", 8*3600)), Type: EventHeld, Actor: "a"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.e
			e.Prev = prev
			e.Hash = e.Sum()
			recSHA := x
			if e.Recording == 4 {
				recSHA = hashHex([]byte("other"))
			}
			v, err := encodeEvent(e, recSHA)
			if err != nil {
				t.Fatal(err)
			}
			if (v[0] == formatV1) != tc.binary {
				t.Fatalf("stored as %q, binary want %v", v, tc.binary)
			}
			if e.Recording == 3 && len(v) > 33+32 && bytes.Contains(v, []byte(x[:16])) {
				t.Errorf("the recording's sha256 is stored in the event: %q", v)
			}
			got, err := decodeEvent(e.Seq, v, prev, func(uint64) string { return recSHA })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(mustJSON(t, got), mustJSON(t, e)) || got.Sum() != e.Hash {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, e)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func FuzzDecodeRecording(f *testing.F) {
	r := full()
	v, _ := encodeRecording(&r)
	f.Add(v)
	f.Add([]byte(`{"id":1}`))
	f.Add([]byte{formatV1, 0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := decodeRecording(v)
		if err != nil || len(v) == 0 || v[0] != formatV1 {
			return
		}
		// what decodes re-encodes to the same bytes or keeps to JSON
		if _, err := encodeRecording(&r); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	e := Event{Seq: 2, Time: time.Unix(1, 2).UTC(), Type: EventHeld, Actor: "a", Prev: hashHex(nil), Detail: "d"}
	e.Hash = e.Sum()
	v, _ := encodeEvent(e, "")
	f.Add(v)
	f.Add([]byte(`{"seq":1}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		if e, err := decodeEvent(2, v, "", func(uint64) string { return "" }); err == nil {
			_ = e.Sum()
		}
	})
}
