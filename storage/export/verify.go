package export

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Problem is one thing wrong with an export: the file it is in and, when
// it is a custody event, that event's sequence number.
type Problem struct {
	File   string
	Event  uint64
	Reason string
}

func (p Problem) String() string {
	if p.Event != 0 {
		return fmt.Sprintf("%s: event %d: %s", p.File, p.Event, p.Reason)
	}
	return p.File + ": " + p.Reason
}

// VerifyError lists every problem Verify found.
type VerifyError struct{ Problems []Problem }

func (e *VerifyError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return "export does not verify: " + strings.Join(s, "; ")
}

// Files names the files with a problem, each once, in order.
func (e *VerifyError) Files() []string {
	var out []string
	for _, p := range e.Problems {
		if !slices.Contains(out, p.File) {
			out = append(out, p.File)
		}
	}
	return out
}

// Report says what Verify checked.
type Report struct {
	Files, Recordings, Events, Segments, Anchored int
}

// VerifyDir checks an export directory offline.
func VerifyDir(dir string) (Report, error) {
	c, err := readDir(dir)
	if err != nil {
		return Report{}, fmt.Errorf("read export %s: %w", dir, err)
	}
	return c.verify()
}

// VerifyTar checks an export tar stream offline.
func VerifyTar(r io.Reader) (Report, error) {
	c, err := readTar(r)
	if err != nil {
		return Report{}, fmt.Errorf("read export: %w", err)
	}
	return c.verify()
}

// checker gathers the problems of one export.
type checker struct {
	c        contents
	problems []Problem
}

func (k *checker) add(p Problem) {
	if !slices.Contains(k.problems, p) {
		k.problems = append(k.problems, p)
	}
}

// verify checks every file's hash against two witnesses (SHA256SUMS and
// the manifest, or for the manifest SHA256SUMS and manifest.sha256), so
// that the one that differs is named; then the manifest against the
// trail, and the trail's chain.
func (c contents) verify() (Report, error) {
	k := &checker{c: c}
	sums := k.sums()
	mf, ok := c[ManifestName]
	if !ok {
		k.add(Problem{File: ManifestName, Reason: "missing"})
	} else {
		h := k.manifestSum()
		k.witness(ManifestName, sums, h, ManifestSumName)
		// The manifest's true hash is the one two of the three agree on.
		t := mf.sha
		if s := sums[ManifestName]; mf.sha != s && mf.sha != h && s == h {
			t = s
		}
		k.witness(ManifestSumName, sums, sumBytes(FormatSums(map[string]string{ManifestName: t})), ManifestName)
	}
	m, err := ParseManifest(mf.data)
	if ok && err != nil {
		k.add(Problem{File: ManifestName, Reason: "unreadable: " + err.Error()})
	}
	rep := Report{Files: len(c)}
	if err != nil {
		k.sumsOnly(sums)
	} else {
		k.files(m, sums)
		rep = k.trail(m)
		rep.Files = len(c)
	}
	if len(k.problems) > 0 {
		return rep, &VerifyError{Problems: k.problems}
	}
	return rep, nil
}

// sums parses SHA256SUMS; nil when it cannot be read.
func (k *checker) sums() map[string]string {
	f, ok := k.c[SumsName]
	if !ok {
		k.add(Problem{File: SumsName, Reason: "missing"})
		return nil
	}
	s, err := ParseSums(f.data)
	if err != nil {
		k.add(Problem{File: SumsName, Reason: "unreadable: " + err.Error()})
		return nil
	}
	return s
}

// manifestSum is what manifest.sha256 says the manifest hashes to.
func (k *checker) manifestSum() string {
	f, ok := k.c[ManifestSumName]
	if !ok {
		k.add(Problem{File: ManifestSumName, Reason: "missing"})
		return ""
	}
	s, err := ParseSums(f.data)
	if err != nil || len(s) != 1 || s[ManifestName] == "" {
		k.add(Problem{File: ManifestSumName, Reason: "unreadable"})
		return ""
	}
	return s[ManifestName]
}

// witness checks name's hash against SHA256SUMS and a second witness
// (other, a file's name): the one of the three that disagrees is named.
func (k *checker) witness(name string, sums map[string]string, second, other string) {
	f, ok := k.c[name]
	if !ok {
		k.add(Problem{File: name, Reason: "missing"})
		return
	}
	first, listed := sums[name]
	switch {
	case sums != nil && !listed && f.sha == second:
		k.add(Problem{File: SumsName, Reason: "does not list " + name})
	case sums != nil && !listed:
		k.add(Problem{File: name, Reason: "not listed in " + SumsName})
	case (sums == nil || f.sha == first) && (second == "" || f.sha == second):
	case f.sha == second && sums != nil:
		k.add(Problem{File: SumsName, Reason: "its sha256 of " + name + " differs from the file and from " + other})
	case f.sha == first && second != "":
		k.add(Problem{File: other, Reason: "its sha256 of " + name + " differs from the file and from " + SumsName})
	default:
		k.add(Problem{File: name, Reason: fmt.Sprintf("sha256 %s differs from %s and %s", f.sha, SumsName, other)})
	}
}

// files checks every file but the three that describe the others.
func (k *checker) files(m Manifest, sums map[string]string) {
	names := map[string]bool{}
	for _, set := range []map[string]string{sums, m.Files} {
		for n := range set {
			names[n] = true
		}
	}
	for n := range k.c {
		names[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		switch n {
		case ManifestName, ManifestSumName, SumsName:
			continue
		}
		if _, inManifest := m.Files[n]; !inManifest {
			if _, here := k.c[n]; here {
				k.add(Problem{File: n, Reason: "not in the manifest"})
			} else {
				k.add(Problem{File: SumsName, Reason: "lists " + n + ", which the export does not hold"})
			}
			continue
		}
		k.witness(n, sums, m.Files[n], ManifestName)
	}
	for _, r := range m.Recordings {
		if m.Files[r.File] != r.SHA256 {
			k.add(Problem{File: ManifestName, Reason: fmt.Sprintf("recording %d: sha256 differs from its file's entry", r.ID)})
		}
		if f, ok := k.c[r.File]; ok && f.size != r.Size && f.sha == r.SHA256 {
			k.add(Problem{File: ManifestName, Reason: fmt.Sprintf("recording %d: size %d, the file has %d", r.ID, r.Size, f.size)})
		}
	}
	for _, s := range m.Trail.Segments {
		if m.Files[s.File] != s.SHA256 {
			k.add(Problem{File: ManifestName, Reason: "segment " + s.File + ": sha256 differs from its file's entry"})
		}
	}
}

// sumsOnly checks the files against SHA256SUMS alone, when the manifest
// cannot be read.
func (k *checker) sumsOnly(sums map[string]string) {
	for _, n := range slices.Sorted(maps.Keys(k.c)) {
		switch n {
		case ManifestName, ManifestSumName, SumsName:
			continue
		}
		if sums != nil && sums[n] != k.c[n].sha {
			k.add(Problem{File: n, Reason: "sha256 differs from " + SumsName})
		}
	}
}
