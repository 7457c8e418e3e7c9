package staging

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"testing"
)

// testResumeState is the state of a copy that hashed "interrupted " of a
// 1000-byte source.
func testResumeState(t testing.TB) resumeState {
	h := sha256.New()
	h.Write([]byte("interrupted "))
	d, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return resumeState{Size: 1000, Offset: 12, Identity: []byte("size+mtime+head+tail"), Digest: d}
}

func TestResumeStateRoundTrip(t *testing.T) {
	st := testResumeState(t)
	got, err := parseResumeState(st.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != st.Size || got.Offset != st.Offset || !bytes.Equal(got.Identity, st.Identity) || !bytes.Equal(got.Digest, st.Digest) {
		t.Fatalf("parsed %+v, wrote %+v", got, st)
	}
	// The restored hash goes on where the interrupted one stopped.
	h, err := got.restore()
	if err != nil {
		t.Fatal(err)
	}
	h.Write([]byte("copy"))
	if want := sha256.Sum256([]byte("interrupted copy")); hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(want[:]) {
		t.Fatal("restored hash differs")
	}
}

// A state file that is torn, damaged or from another version means "start
// from zero", never a wrong resume.
func TestResumeStateRejects(t *testing.T) {
	good := testResumeState(t).encode()
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	reseal := func(body []byte) []byte { s := sha256.Sum256(body); return append(body, s[:]...) }
	body := good[:len(good)-sha256.Size]
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"torn", good[:len(good)/2]},
		{"one byte short", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"bit flipped in offset", edit(func(b []byte) []byte { b[20] ^= 1; return b })},
		{"bit flipped in checksum", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
		{"other magic", reseal(append([]byte("XXXX"), body[4:]...))},
		{"other version", reseal(append(append([]byte(resumeMagic), 2), body[5:]...))},
		{"offset past size", reseal(testResumeStateWith(t, func(st *resumeState) { st.Offset = st.Size + 1 }))},
		{"negative size", reseal(testResumeStateWith(t, func(st *resumeState) { st.Size = -1 }))},
		{"digest not sha256", reseal(testResumeStateWith(t, func(st *resumeState) { st.Digest = []byte("not a digest") }))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st, err := parseResumeState(tc.b); err == nil {
				t.Fatalf("parsed %+v", st)
			}
		})
	}
}

// testResumeStateWith encodes a changed test state and returns it without
// its checksum, for the caller to seal.
func testResumeStateWith(t *testing.T, change func(*resumeState)) []byte {
	st := testResumeState(t)
	change(&st)
	b := st.encode()
	return b[:len(b)-sha256.Size]
}

// FuzzResumeState feeds the parser what a torn write or a damaged disk could
// leave, with and without a valid checksum (so the fuzzer gets past it). An
// accepted state must encode back to the same bytes, describe a prefix of
// its source and restore a hash.
func FuzzResumeState(f *testing.F) {
	good := testResumeState(f).encode()
	f.Add(good)
	f.Add(good[:len(good)-sha256.Size])
	f.Add([]byte(resumeMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := sha256.Sum256(b)
		for _, in := range [][]byte{b, append(bytes.Clone(b), s[:]...)} {
			st, err := parseResumeState(in)
			if err != nil {
				continue
			}
			if out := st.encode(); !bytes.Equal(out, in) {
				t.Fatalf("accepted %x, encodes as %x", in, out)
			}
			if st.Offset < 0 || st.Offset > st.Size || len(st.Identity) > MaxIdentity {
				t.Fatalf("accepted %+v", st)
			}
			if _, err := st.restore(); err != nil {
				t.Fatalf("accepted a digest that does not restore: %v", err)
			}
		}
	})
}
