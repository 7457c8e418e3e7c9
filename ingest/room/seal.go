package room

import (
	"fmt"
	"strings"
	"time"

	"custodian/ingest"
	"custodian/ingest/fmp4"
	"custodian/storage/catalog"
)

// sealJob is one step for the sealer, in order: a gap, or a closed segment.
type sealJob struct {
	seg *fmp4.Segment
	gap *catalog.Gap
	// done, when set, is closed once every earlier job is finished.
	done chan struct{}
}

// seal hands a closed segment to staging and the catalog, or records a gap.
// A segment that cannot be sealed stays in the open directory; the next
// start recovers it.
func (r *Room) seal(j sealJob) {
	if j.gap != nil {
		r.sealGap(*j.gap)
		return
	}
	s := j.seg
	id := r.cfg.ID
	// The record comes first, naming the hash the writer computed, and the
	// bytes move into staging after: a crash in between leaves a record
	// whose segment is still in the open directory, which start-up marks
	// missing and recovery seals again onto the same record. The other order
	// would leave footage in staging that no record names.
	rec, detail := r.segmentRecord(s)
	saved, _, err := r.env.Catalog.Add(rec, catalog.Event{Type: catalog.EventIngested, Detail: detail})
	if err != nil {
		r.env.Log.Error("room segment not catalogued; it stays for recovery", keyRoom, id, keySHA, s.SHA256, keyErr, err)
		r.countError(ingest.ErrKindCatalog)
		return
	}
	blob, err := r.env.Staging.Adopt(s.Path, s.SHA256, s.Size)
	if err != nil {
		r.env.Log.Error("room segment not staged; it stays for recovery", keyRoom, id, keyPath, s.Path, keyErr, err)
		r.countError(ingest.ErrKindStage)
		return
	}
	if saved.State != catalog.StateVerified && saved.State != catalog.StateArchived {
		saved, err = r.env.Catalog.Update(saved.ID, func(x *catalog.Recording) error {
			x.State, x.VerifiedAt = catalog.StateVerified, r.env.Now().UTC()
			return nil
		}, catalog.Event{Type: catalog.EventVerified, Detail: "staged copy re-read and hash-verified"})
		if err != nil {
			r.env.Log.Error("room segment verified but not recorded; recovery will finish it", keyRoom, id, keySHA, blob.SHA256, keyErr, err)
			r.countError(ingest.ErrKindCatalog)
			return
		}
	}
	r.env.Metrics.Files.WithLabelValues(string(catalog.SourceRoom)).Inc()
	r.env.Metrics.Bytes.WithLabelValues(string(catalog.SourceRoom)).Add(float64(blob.Size))
	r.setStatus(func(st *Status) { st.Sealed++ })
	r.env.Log.Info("room segment sealed", keyRoom, id, keyID, saved.ID, keySHA, saved.SHA256, keySize, saved.Size,
		keySegment, s.Name, keyDuration, s.End.Sub(s.Start).Round(time.Millisecond), keyFlags, strings.Join(saved.Flags, ","))
}

func (r *Room) sealGap(g catalog.Gap) {
	id := r.cfg.ID
	r.metrics.Gaps.WithLabelValues(id, g.Reason).Inc()
	if err := r.env.Catalog.AddGap(g); err != nil {
		r.env.Log.Error("gap not recorded", keyRoom, id, keyErr, err)
		r.countError(ingest.ErrKindCatalog)
		return
	}
	args := []any{keyRoom, id, keyReason, g.Reason, keyStart, g.Start, keyEnd, g.End, keyDuration, g.Duration().Round(time.Millisecond)}
	if k := g.Track; k != "" {
		args = append(args, keyTrack, k)
	}
	r.env.Log.Warn("room gap", args...)
}

// segmentRecord is the catalog record of a closed segment, linked to the
// interview sessions it overlaps, and the detail of its ingested event.
func (r *Room) segmentRecord(s *fmp4.Segment) (catalog.Recording, string) {
	id := r.cfg.ID
	now := r.env.Now().UTC()
	rec := catalog.Recording{
		Station: r.env.Station, Source: catalog.SourceRoom, SourceID: id,
		Name: s.Name, Ext: fmp4.Ext, Kind: "video",
		StartedAt: s.Start.UTC(), EndedAt: s.End.UTC(), CameraTime: s.CameraTime.UTC(),
		ReceivedAt: now, Size: s.Size, SHA256: s.SHA256, Codecs: s.Codecs,
		State: catalog.StateStaged, StagedAt: now,
	}
	if s.CameraTime.IsZero() {
		rec.CameraTime = time.Time{}
	}
	if !hasVideo(s.Codecs) {
		rec.Kind = "audio"
	}
	if s.Recovered {
		rec.AddFlag(catalog.FlagRecovered)
	}
	drift := s.Drift()
	if drift > r.cfg.MaxDrift || -drift > r.cfg.MaxDrift {
		rec.AddFlag(catalog.FlagTimeDrift)
		r.metrics.TimeDrift.WithLabelValues(id).Inc()
		r.env.Log.Warn("room segment's media time drifts from the station's", keyRoom, id, keySegment, s.Name,
			"media", s.End.Sub(s.Start).Round(time.Millisecond), "arrived_over", s.Arrived.Round(time.Millisecond))
	}
	// A segment cut for a session's start or stop belongs to the sessions
	// until the cut: its audio ends there; its video runs on, under a GOP.
	until := rec.EndedAt
	if !s.CutAt.IsZero() && s.CutAt.Before(until) {
		until = s.CutAt.UTC()
	}
	sessions, err := r.env.Catalog.Sessions(id, rec.StartedAt, until)
	if err != nil {
		r.env.Log.Error("interview sessions unreadable; segment sealed without case link", keyRoom, id, keyErr, err)
	}
	catalog.LinkSessions(&rec, sessions, until)
	detail := fmt.Sprintf("room %s segment %s", id, s.Name)
	if rec.Case != "" {
		detail += " case " + rec.Case
	}
	if rec.HasFlag(catalog.FlagTimeDrift) {
		detail += fmt.Sprintf(" time-drift: %s of media arrived over %s of station time",
			s.End.Sub(s.Start).Round(time.Millisecond), s.Arrived.Round(time.Millisecond))
	}
	return rec, detail
}

// countError counts a failed step of the room's ingest.
func (r *Room) countError(kind string) {
	r.env.Metrics.Errors.WithLabelValues(string(catalog.SourceRoom), kind).Inc()
}

func hasVideo(codecs []string) bool {
	for _, c := range codecs {
		if c == fmp4.CodecH264 || c == fmp4.CodecH265 {
			return true
		}
	}
	return false
}
