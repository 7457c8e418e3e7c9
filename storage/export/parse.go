package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"custodian/internal/digest"
)

// maxSumsLines bounds a SHA256SUMS file.
const maxSumsLines = 1 << 20

// ParseSums reads the sha256sum format FormatSums writes: lines of
// "<64 hex>  <name>" (or " *<name>", binary mode), each name valid and
// once. Anything else is an error naming the line.
func ParseSums(b []byte) (map[string]string, error) {
	out := map[string]string{}
	if len(b) == 0 {
		return out, nil
	}
	if b[len(b)-1] != '\n' {
		return nil, errors.New("last line does not end")
	}
	lines := bytes.Split(b[:len(b)-1], []byte{'\n'})
	if len(lines) > maxSumsLines {
		return nil, fmt.Errorf("more than %d lines", maxSumsLines)
	}
	for i, l := range lines {
		line := string(l)
		if len(line) < 67 || (line[64:66] != "  " && line[64:66] != " *") {
			return nil, fmt.Errorf("line %d: want \"<sha256>  <file>\"", i+1)
		}
		sum, name := line[:64], line[66:]
		if !digest.Valid(sum) {
			return nil, fmt.Errorf("line %d: not a lower-case sha256", i+1)
		}
		if !ValidName(name) {
			return nil, fmt.Errorf("line %d: file name %q", i+1, name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", i+1, name)
		}
		out[name] = sum
	}
	return out, nil
}

// ParseManifest reads a manifest strictly (one JSON value, no unknown
// field) and checks its shape: the schema, every name and hash.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return m, errors.New("more than one JSON value")
	}
	if m.Schema != Schema {
		return m, fmt.Errorf("schema %q, want %q", m.Schema, Schema)
	}
	for name, sum := range m.Files {
		if !ValidName(name) || len(sum) != 64 || !digest.Valid(sum) {
			return m, fmt.Errorf("files: %q", name)
		}
	}
	for i, r := range m.Recordings {
		if !ValidName(r.File) || !strings.HasPrefix(r.File, RecordingsDir) || len(r.SHA256) != 64 || !digest.Valid(r.SHA256) || r.Size < 0 {
			return m, fmt.Errorf("recordings[%d]: file, sha256 or size", i)
		}
	}
	if m.Trail.Events != EventsName {
		return m, fmt.Errorf("trail.events: %q, want %q", m.Trail.Events, EventsName)
	}
	for i, s := range m.Trail.Segments {
		if !ValidName(s.File) || !strings.HasPrefix(s.File, TrailDir) || s.First == 0 || s.First > s.Last || len(s.SHA256) != 64 || !digest.Valid(s.SHA256) {
			return m, fmt.Errorf("trail.segments[%d]: file, range or sha256", i)
		}
		if i > 0 && s.First <= m.Trail.Segments[i-1].Last {
			return m, fmt.Errorf("trail.segments[%d]: overlaps or precedes the one before", i)
		}
	}
	return m, nil
}
