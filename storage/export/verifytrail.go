package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"custodian/storage/catalog"
)

// line is one event of the trail as an export holds it.
type line struct {
	e    catalog.Event
	raw  []byte
	file string
}

// parseLines reads a JSON-lines file of events; a line that does not
// decode or whose hash does not cover its content is a problem, named by
// the event's number (or by its line when even that is unreadable).
func (k *checker) parseLines(name string) []line {
	data := k.c[name].data
	if len(data) == 0 {
		return nil
	}
	var out []line
	for i, raw := range bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'}) {
		var e catalog.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			k.add(Problem{File: name, Reason: fmt.Sprintf("line %d: not an event", i+1)})
			continue
		}
		if e.Sum() != e.Hash {
			k.add(Problem{File: name, Event: e.Seq, Reason: "content does not match its hash"})
		}
		out = append(out, line{e: e, raw: raw, file: name})
	}
	return out
}

// trail checks the segments' chains, the recordings' events against them,
// and the manifest against the events.
func (k *checker) trail(m Manifest) Report {
	rep := Report{Recordings: len(m.Recordings), Segments: len(m.Trail.Segments)}
	bySeq := map[uint64]line{}
	for i, s := range m.Trail.Segments {
		lines := k.parseLines(s.File)
		k.chain(s, lines)
		if i > 0 && m.Trail.Segments[i-1].Last+1 == s.First && len(lines) > 0 {
			if prev, ok := bySeq[s.First-1]; ok && lines[0].e.Prev != prev.e.Hash {
				k.add(Problem{File: s.File, Event: s.First, Reason: "does not follow the segment before"})
			}
		}
		if !s.Anchored() && s.First > 1 && (i == 0 || !m.Trail.Segments[i-1].Anchored() || m.Trail.Segments[i-1].Last+1 != s.First) {
			k.add(Problem{File: s.File, Event: s.First, Reason: "an unarchived segment that follows no archived one"})
		}
		if s.Anchored() {
			rep.Anchored++
		}
		for _, l := range lines {
			bySeq[l.e.Seq] = l
		}
	}
	events := k.parseLines(EventsName)
	rep.Events = len(events)
	own := map[uint64]catalog.Event{}
	for _, l := range events {
		seg, ok := bySeq[l.e.Seq]
		switch {
		case k.tainted(EventsName) || k.tainted(segmentOf(m, l.e.Seq)):
			// already named; what follows from it says nothing new
		case !ok:
			k.add(Problem{File: EventsName, Event: l.e.Seq, Reason: "in no segment of the trail"})
		case !bytes.Equal(seg.raw, l.raw):
			k.add(Problem{File: EventsName, Event: l.e.Seq, Reason: "differs from the trail's segment"})
		}
		own[l.e.Seq] = l.e
	}
	if !k.tainted(EventsName) && !k.tainted(ManifestName) {
		k.recordings(m, own)
	}
	return rep
}

// chain checks one segment: its events are First..Last in order, each
// naming the hash of the one before.
func (k *checker) chain(s Segment, lines []line) {
	if uint64(len(lines)) != s.Last-s.First+1 {
		k.add(Problem{File: s.File, Reason: fmt.Sprintf("holds %d events, the manifest says %d to %d", len(lines), s.First, s.Last)})
	}
	for i, l := range lines {
		switch {
		case l.e.Seq != s.First+uint64(i):
			k.add(Problem{File: s.File, Event: s.First + uint64(i), Reason: fmt.Sprintf("out of order: event %d is in its place", l.e.Seq)})
		case i > 0 && l.e.Prev != lines[i-1].e.Hash:
			k.add(Problem{File: s.File, Event: l.e.Seq, Reason: "does not follow the event before it"})
		}
	}
}

// recordings checks the manifest against the events: every event it names
// is the recording's, with its hash; every event of the recording is
// named; and the recording's export is among them.
func (k *checker) recordings(m Manifest, events map[uint64]catalog.Event) {
	named := map[uint64]bool{}
	for _, r := range m.Recordings {
		exported := false
		for _, seq := range r.Events {
			named[seq] = true
			e, ok := events[seq]
			switch {
			case !ok:
				k.add(Problem{File: ManifestName, Event: seq, Reason: fmt.Sprintf("recording %d names an event %s does not hold", r.ID, EventsName)})
			case e.Recording != r.ID || e.SHA256 != r.SHA256:
				k.add(Problem{File: ManifestName, Event: seq, Reason: fmt.Sprintf("recording %d, sha256 %s: the event records recording %d, sha256 %s", r.ID, r.SHA256, e.Recording, e.SHA256)})
			case e.Type == EventExported && e.Actor == m.ExportedBy && strings.HasPrefix(e.Detail, "case "+m.Case):
				exported = true
			}
		}
		if !exported {
			k.add(Problem{File: ManifestName, Reason: fmt.Sprintf("recording %d: no %s event by %s for case %s", r.ID, EventExported, m.ExportedBy, m.Case)})
		}
	}
	for seq := range events {
		if !named[seq] {
			k.add(Problem{File: EventsName, Event: seq, Reason: "an event no recording of the manifest names"})
		}
	}
}

// tainted reports whether a problem was found in name already.
func (k *checker) tainted(name string) bool {
	for _, p := range k.problems {
		if p.File == name {
			return true
		}
	}
	return false
}

// segmentOf names the segment of the manifest that should hold event seq.
func segmentOf(m Manifest, seq uint64) string {
	for _, s := range m.Trail.Segments {
		if s.First <= seq && seq <= s.Last {
			return s.File
		}
	}
	return ""
}
