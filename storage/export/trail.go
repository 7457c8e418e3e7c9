package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"custodian/storage/catalog"
)

// maxChunkBytes bounds an archived audit chunk read back (1000 events).
const maxChunkBytes = 64 << 20

// trail writes the recordings' events and the segments of the station's
// trail that hold them: every archived chunk with one of their events in
// it, and, when their newest events (the export's own at least) are not
// archived yet, the unanchored run after the last archived chunk, with
// that chunk, so that the run chains on from an anchor. It returns the
// event sequence numbers of each recording.
func (x *Exporter) trail(ctx context.Context, recs []catalog.Recording, w *writer) (Trail, map[uint64][]uint64, error) {
	ids := make(map[uint64]bool, len(recs))
	for _, r := range recs {
		ids[r.ID] = true
	}
	events, lines, err := x.Catalog.EventLines(func(e catalog.Event) bool { return ids[e.Recording] })
	if err != nil {
		return Trail{}, nil, err
	}
	seqs := map[uint64][]uint64{}
	var newest uint64
	for _, e := range events {
		seqs[e.Recording] = append(seqs[e.Recording], e.Seq)
		newest = max(newest, e.Seq)
	}
	if err := w.putBytes(EventsName, joinLines(lines)); err != nil {
		return Trail{}, nil, err
	}
	t := Trail{Events: EventsName}
	chunks, err := x.Catalog.AuditChunks()
	if err != nil {
		return t, nil, err
	}
	var shipped uint64
	if len(chunks) > 0 {
		shipped = chunks[len(chunks)-1].Last
	}
	for i, ch := range chunks {
		needed := i == len(chunks)-1 && newest > shipped
		for _, e := range events {
			needed = needed || ch.First <= e.Seq && e.Seq <= ch.Last
		}
		if !needed {
			continue
		}
		s, err := x.anchor(ctx, ch, w)
		if err != nil {
			return t, nil, err
		}
		t.Segments = append(t.Segments, s)
	}
	if newest > shipped {
		b, err := x.Catalog.EventBytes(shipped+1, newest)
		if err != nil {
			return t, nil, err
		}
		s := Segment{File: segmentFile(shipped+1, newest), First: shipped + 1, Last: newest, SHA256: sumBytes(b)}
		if err := w.putBytes(s.File, b); err != nil {
			return t, nil, err
		}
		t.Segments = append(t.Segments, s)
	}
	return t, seqs, nil
}

// anchor reads an archived chunk back from the archive and writes it: it
// must hash as the catalog recorded and equal the catalog's events.
func (x *Exporter) anchor(ctx context.Context, ch catalog.AuditChunk, w *writer) (Segment, error) {
	local, err := x.Catalog.EventBytes(ch.First, ch.Last)
	if err != nil {
		return Segment{}, err
	}
	s := Segment{File: segmentFile(ch.First, ch.Last), First: ch.First, Last: ch.Last, SHA256: sumBytes(local)}
	if x.Store != nil {
		rc, err := x.Store.Get(ctx, ch.Key, ch.Version)
		if err != nil {
			return s, fmt.Errorf("archived trail %s: %w", ch.Key, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxChunkBytes))
		rc.Close()
		if err != nil {
			return s, fmt.Errorf("archived trail %s: %w", ch.Key, err)
		}
		if sumBytes(b) != ch.SHA256 || !bytes.Equal(b, local) {
			return s, &catalog.ChainError{Seq: ch.First, Reason: "differs from the archived trail " + ch.Key}
		}
		s.ArchiveKey, s.ArchiveVersion = ch.Key, ch.Version
	}
	return s, w.putBytes(s.File, local)
}

func joinLines(lines [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func sumBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
