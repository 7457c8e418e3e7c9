package export

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxKeptBytes bounds one file Verify reads whole (the manifest, the sums,
// the trail); recordings are only hashed.
const maxKeptBytes = 256 << 20

// file is one file of an export as Verify found it.
type file struct {
	sha  string
	size int64
	data []byte // kept for the manifest, the sums and the trail
}

// contents is an export as Verify read it, by name.
type contents map[string]file

func kept(name string) bool {
	return name == ManifestName || name == ManifestSumName || name == SumsName || strings.HasPrefix(name, TrailDir)
}

func readOne(name string, r io.Reader) (file, error) {
	h := sha256.New()
	var f file
	if kept(name) {
		b, err := io.ReadAll(io.LimitReader(io.TeeReader(r, h), maxKeptBytes+1))
		if err != nil {
			return f, err
		}
		if len(b) > maxKeptBytes {
			return f, fmt.Errorf("%s: larger than %d bytes", name, maxKeptBytes)
		}
		f.data, f.size = b, int64(len(b))
	} else {
		n, err := io.Copy(h, r)
		if err != nil {
			return f, err
		}
		f.size = n
	}
	f.sha = sumHex(h)
	return f, nil
}

// readDir reads an export directory: regular files only.
func readDir(dir string) (contents, error) {
	c := contents{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !d.Type().IsRegular() || !ValidName(name) {
			return fmt.Errorf("%s: not a file an export holds", name)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		c[name], err = readOne(name, f)
		return err
	})
	return c, err
}

// readTar reads an export as a tar stream.
func readTar(r io.Reader) (contents, error) {
	c := contents{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if _, dup := c[name]; dup || hdr.Typeflag != tar.TypeReg || !ValidName(name) {
			return nil, fmt.Errorf("%s: not a file an export holds", hdr.Name)
		}
		if c[name], err = readOne(name, tr); err != nil {
			return nil, err
		}
	}
}
