package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custodian/storage/catalog"
)

// reseal recomputes every hash of an export after a forger changed it:
// the manifest's files, manifest.sha256 and SHA256SUMS. What is left to
// catch the forgery is the trail itself.
func reseal(t *testing.T, dir string, edit func(*Manifest)) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&m)
	}
	for name := range m.Files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		m.Files[name] = sumBytes(data)
	}
	for i, s := range m.Trail.Segments {
		m.Trail.Segments[i].SHA256 = m.Files[s.File]
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	all := map[string]string{ManifestName: sumBytes(mb)}
	for k, v := range m.Files {
		all[k] = v
	}
	ms := FormatSums(map[string]string{ManifestName: all[ManifestName]})
	all[ManifestSumName] = sumBytes(ms)
	write(t, filepath.Join(dir, ManifestName), mb)
	write(t, filepath.Join(dir, ManifestSumName), ms)
	write(t, filepath.Join(dir, SumsName), FormatSums(all))
}

// editLines rewrites the events of a JSON-lines file of the export.
func editLines(t *testing.T, dir, name string, edit func(lines [][]byte) [][]byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := edit(bytes.Split(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\n'}))
	write(t, p, append(bytes.Join(lines, []byte{'\n'}), '\n'))
}

// reword changes an event's detail; rehash also gives it a matching hash.
func reword(t *testing.T, line []byte, rehash bool) []byte {
	var e catalog.Event
	if err := json.Unmarshal(line, &e); err != nil {
		t.Fatal(err)
	}
	e.Detail = "nothing happened"
	if rehash {
		e.Hash = e.Sum()
	}
	b, _ := json.Marshal(e)
	return b
}

func TestForgedTrailIsNamed(t *testing.T) {
	first := func(m Manifest) Segment { return m.Trail.Segments[0] }
	for _, tc := range []struct {
		name  string
		forge func(t *testing.T, dir string, m Manifest)
		want  Problem
	}{
		{"event altered", func(t *testing.T, dir string, m Manifest) {
			for _, f := range []string{EventsName, first(m).File} {
				editLines(t, dir, f, func(l [][]byte) [][]byte { l[0] = reword(t, l[0], false); return l })
			}
		}, Problem{File: EventsName, Event: 1, Reason: "content does not match its hash"}},
		{"event altered and rehashed", func(t *testing.T, dir string, m Manifest) {
			editLines(t, dir, EventsName, func(l [][]byte) [][]byte { l[1] = reword(t, l[1], true); return l })
		}, Problem{File: EventsName, Event: 2, Reason: "differs from the trail's segment"}},
		{"events reordered", func(t *testing.T, dir string, m Manifest) {
			editLines(t, dir, first(m).File, func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l })
		}, Problem{File: "trail/000000000001-000000000005.jsonl", Event: 2, Reason: "out of order: event 3 is in its place"}},
		{"event dropped from a segment", func(t *testing.T, dir string, m Manifest) {
			editLines(t, dir, first(m).File, func(l [][]byte) [][]byte { return append(l[:2], l[3:]...) })
		}, Problem{File: "trail/000000000001-000000000005.jsonl", Event: 3, Reason: "out of order: event 4 is in its place"}},
		{"recording replaced, manifest and sums to match", func(t *testing.T, dir string, m Manifest) {
			fake := []byte("other footage")
			write(t, filepath.Join(dir, m.Recordings[0].File), fake)
			reseal(t, dir, func(m *Manifest) { m.Recordings[0].SHA256, m.Recordings[0].Size = sumBytes(fake), int64(len(fake)) })
		}, Problem{File: ManifestName, Event: 1, Reason: "recording 1, sha256 " + sumBytes([]byte("other footage")) + ": the event records recording 1, sha256 "}},
		{"export event removed from the manifest", func(t *testing.T, dir string, m Manifest) {
			reseal(t, dir, func(m *Manifest) { m.Recordings[1].Events = m.Recordings[1].Events[:1] })
		}, Problem{File: ManifestName, Reason: "recording 2: no exported event by sup1 for case C-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			dir, m := r.export(t)
			tc.forge(t, dir, m)
			reseal(t, dir, nil)
			_, err := VerifyDir(dir)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("forged export verifies: %v", err)
			}
			for _, p := range ve.Problems {
				if p.File == tc.want.File && p.Event == tc.want.Event && strings.HasPrefix(p.Reason, tc.want.Reason) {
					return
				}
			}
			t.Errorf("problems %v, want %v", ve.Problems, tc.want)
		})
	}
}
