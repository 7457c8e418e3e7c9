package export

import (
	"testing"
)

// FuzzParseSums: any SHA256SUMS someone hands verify parses or is refused,
// never panics, and what parses writes back the same.
func FuzzParseSums(f *testing.F) {
	f.Add([]byte(FormatSums(map[string]string{"recordings/000001-aa.mp4": sumBytes(nil), ManifestName: sumBytes([]byte("x"))})))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSums(b)
		if err != nil {
			return
		}
		for name, sum := range s {
			if !ValidName(name) || len(sum) != 64 {
				t.Fatalf("accepted %q %q", name, sum)
			}
		}
		again, err := ParseSums(FormatSums(s))
		if err != nil || len(again) != len(s) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzParseManifest: a manifest from anyone parses or is refused, and
// what parses names only valid files.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"schema":"custodian-export/1","case":"C-1","recordings":[{"file":"recordings/000001-aa.mp4","sha256":"` +
		sumBytes(nil) + `","size":3,"events":[1]}],"trail":{"events":"trail/events.jsonl","segments":[{"file":"trail/x.jsonl","first":1,"last":2,"sha256":"` +
		sumBytes(nil) + `"}]},"files":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, r := range m.Recordings {
			if !ValidName(r.File) {
				t.Fatalf("accepted file %q", r.File)
			}
		}
		// Verify on a lone manifest must not panic either.
		_, _ = contents{ManifestName: {sha: sumBytes(b), data: b, size: int64(len(b))}}.verify()
	})
}
