package fmp4

import (
	"encoding/binary"
	"math"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// appendPart appends fragment seq of tracks to b: the moof (mfhd, then per
// track a traf of tfhd, tfdt and trun) and the mdat with the samples,
// byte for byte what mediacommon's Part.Marshal writes
// (TestAppendPartMatchesMediacommon). Written here because Part.Marshal
// copies every sample twice through a fresh buffer and reflection, which
// was a tenth of a room's CPU; here each byte is copied once. ok is false
// when the fragment is too large for 32-bit box sizes (never at a second
// of video), for the caller to marshal it with mediacommon.
func appendPart(b []byte, seq uint32, tracks []*fmp4.PartTrack) (out []byte, ok bool) {
	moofSize := 8 + 16
	dataSize := 0
	for _, t := range tracks {
		moofSize += trafSize(t)
		for _, s := range t.Samples {
			dataSize += len(s.Payload)
		}
	}
	if moofSize+8+dataSize > math.MaxUint32 {
		return b, false
	}
	b = appendBoxHeader(b, moofSize, "moof")
	b = appendBoxHeader(b, 16, "mfhd")
	b = binary.BigEndian.AppendUint32(b, 0) // version, flags
	b = binary.BigEndian.AppendUint32(b, seq)
	offset := moofSize + 8 // the first sample, from the moof's start
	for _, t := range tracks {
		b = appendTraf(b, t, offset)
		for _, s := range t.Samples {
			offset += len(s.Payload)
		}
	}
	b = appendBoxHeader(b, 8+dataSize, "mdat")
	for _, t := range tracks {
		for _, s := range t.Samples {
			b = append(b, s.Payload...)
		}
	}
	return b, true
}

// nonSyncSample is the sample flag of a non-sync sample (ISO/IEC 14496-12);
// the trun flags are fragments.go's.
const nonSyncSample = 1 << 16

func trunFlagsOf(t *fmp4.PartTrack) uint32 {
	flags := uint32(trunDataOffset | trunSampleDuration | trunSampleSize)
	for _, s := range t.Samples {
		if s.IsNonSyncSample {
			flags |= trunSampleFlags
		}
		if s.PTSOffset != 0 {
			flags |= trunSampleCTO
		}
	}
	return flags
}

func trafSize(t *fmp4.PartTrack) int {
	entry := 8
	flags := trunFlagsOf(t)
	if flags&trunSampleFlags != 0 {
		entry += 4
	}
	if flags&trunSampleCTO != 0 {
		entry += 4
	}
	return 8 + 16 + 20 + 20 + entry*len(t.Samples)
}

// appendTraf appends t's traf; its samples start offset bytes after the
// moof's first byte (tfhd's default-base-is-moof).
func appendTraf(b []byte, t *fmp4.PartTrack, offset int) []byte {
	flags, size := trunFlagsOf(t), trafSize(t)
	b = appendBoxHeader(b, size, "traf")
	b = appendBoxHeader(b, 16, "tfhd")
	b = binary.BigEndian.AppendUint32(b, 0x020000) // version 0, default-base-is-moof
	b = binary.BigEndian.AppendUint32(b, uint32(t.ID))
	b = appendBoxHeader(b, 20, "tfdt")
	b = binary.BigEndian.AppendUint32(b, 1<<24) // version 1
	b = binary.BigEndian.AppendUint64(b, t.BaseTime)
	b = appendBoxHeader(b, size-8-16-20, "trun")
	b = binary.BigEndian.AppendUint32(b, 1<<24|flags) // version 1
	b = binary.BigEndian.AppendUint32(b, uint32(len(t.Samples)))
	b = binary.BigEndian.AppendUint32(b, uint32(int32(offset)))
	for _, s := range t.Samples {
		b = binary.BigEndian.AppendUint32(b, s.Duration)
		b = binary.BigEndian.AppendUint32(b, uint32(len(s.Payload)))
		if flags&trunSampleFlags != 0 {
			var f uint32
			if s.IsNonSyncSample {
				f = nonSyncSample
			}
			b = binary.BigEndian.AppendUint32(b, f)
		}
		if flags&trunSampleCTO != 0 {
			b = binary.BigEndian.AppendUint32(b, uint32(s.PTSOffset))
		}
	}
	return b
}

func appendBoxHeader(b []byte, size int, typ string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	return append(b, typ...)
}
