package export

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// DirSink writes an export into a directory: each file to a temporary
// name first, synced, then renamed, so no half-written file carries a
// final name.
type DirSink struct{ Dir string }

// Put writes one file.
func (d DirSink) Put(name string, size int64, body io.Reader) error {
	if !ValidName(name) {
		return fmt.Errorf("export file name %q", name)
	}
	dst := filepath.Join(d.Dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	n, err := io.Copy(f, body)
	if err == nil && n != size {
		err = fmt.Errorf("%s: %d bytes, want %d", name, n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o440)
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// TarSink writes an export as a tar stream; Close writes its end.
type TarSink struct {
	tw      *tar.Writer
	modTime time.Time
}

// NewTarSink writes to w; every entry is dated modTime.
func NewTarSink(w io.Writer, modTime time.Time) *TarSink {
	return &TarSink{tw: tar.NewWriter(w), modTime: modTime}
}

// Put writes one entry.
func (t *TarSink) Put(name string, size int64, body io.Reader) error {
	if !ValidName(name) {
		return fmt.Errorf("export file name %q", name)
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o440, ModTime: t.modTime, Format: tar.FormatPAX}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(t.tw, body); err != nil {
		return err
	}
	return t.tw.Flush()
}

// Close ends the tar stream.
func (t *TarSink) Close() error { return t.tw.Close() }

// ValidName reports whether name may be a file of an export: a clean
// relative slash path of printable ASCII without spaces, at most 200 bytes.
func ValidName(name string) bool {
	if name == "" || len(name) > 200 || path.Clean(name) != name || path.IsAbs(name) ||
		name == ".." || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "./") {
		return false
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// Unpack writes the tar stream r into dir (DirSink), refusing any entry
// that is not a regular file with a valid name, or that comes twice.
func Unpack(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	sink := DirSink{Dir: dir}
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read export: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || !ValidName(hdr.Name) || seen[hdr.Name] {
			return fmt.Errorf("read export: entry %q is not a file an export holds", hdr.Name)
		}
		seen[hdr.Name] = true
		if err := sink.Put(hdr.Name, hdr.Size, tr); err != nil {
			return fmt.Errorf("read export: %w", err)
		}
	}
}
