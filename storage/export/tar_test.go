package export

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"custodian/storage/catalog/catalogtest"
)

func tarOf(t testing.TB, entries ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h.Mode = 0o644
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTarEntriesRefused: a tar from elsewhere writes nothing outside the
// export directory and holds nothing but files.
func TestTarEntriesRefused(t *testing.T) {
	for name, hdr := range map[string]tar.Header{
		"parent":   {Name: "../evil", Typeflag: tar.TypeReg, Size: 1},
		"absolute": {Name: "/etc/evil", Typeflag: tar.TypeReg, Size: 1},
		"symlink":  {Name: "recordings/a", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		"hidden":   {Name: "recordings/../../evil", Typeflag: tar.TypeReg, Size: 1},
	} {
		t.Run(name, func(t *testing.T) {
			b := tarOf(t, hdr)
			dir := filepath.Join(t.TempDir(), "x")
			if err := Unpack(bytes.NewReader(b), dir); err == nil {
				t.Error("unpacked")
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
				t.Error("wrote outside the directory")
			}
			if _, err := VerifyTar(bytes.NewReader(b)); err == nil {
				t.Error("verified")
			}
		})
	}
	twice := tarOf(t, tar.Header{Name: "a", Typeflag: tar.TypeReg, Size: 1}, tar.Header{Name: "a", Typeflag: tar.TypeReg, Size: 2})
	if err := Unpack(bytes.NewReader(twice), t.TempDir()); err == nil {
		t.Error("a file twice unpacked")
	}
}

// FuzzVerifyTar: any tar handed to export verify is checked or refused,
// never a panic. The seed corpus holds a whole export (see
// TestFuzzSeedIsAnExport).
func FuzzVerifyTar(f *testing.F) {
	f.Add(tarOf(f, tar.Header{Name: SumsName, Typeflag: tar.TypeReg, Size: 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = VerifyTar(bytes.NewReader(b))
	})
}

// TestFuzzSeedIsAnExport keeps the committed seed a whole export that
// verifies, so that the fuzzer starts from the real format.
func TestFuzzSeedIsAnExport(t *testing.T) {
	p := filepath.Join("testdata", "fuzz", "FuzzVerifyTar", "export")
	if os.Getenv("EXPORT_WRITE_SEED") != "" {
		r := newRig(t)
		recs, err := r.x.Plan("C-1")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		sink := NewTarSink(&buf, catalogtest.T0)
		if _, err := r.x.Export(context.Background(), Request{Case: "C-1", By: "sup1"}, recs, sink); err != nil {
			t.Fatal(err)
		}
		if err := sink.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", buf.Bytes())), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitN(b, []byte("\n"), 3)
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(string(lines[1]), "[]byte("), ")"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyTar(strings.NewReader(s)); err != nil {
		t.Fatal(err)
	}
}
