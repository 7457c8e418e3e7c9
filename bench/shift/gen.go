package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// shiftLen is how long the shift ran: the cameras' files are spread over it.
const shiftLen = 8 * time.Hour

// perFolder is how many files a camera keeps in one DCIM folder.
const perFolder = 1000

// gen writes the cameras of one shift change below -dir, one folder (slot)
// per camera, and a manifest of what it wrote in sha256sum's format. The
// content depends only on -seed, camera and file number, so a second run
// with the same flags writes the same bytes.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("dir", "", "where to create the camera folders")
	cameras := fs.Int("cameras", 20, "cameras")
	files := fs.Int("files", 4, "files per camera")
	minSize := fs.Int64("min", 48<<20, "smallest file, bytes")
	maxSize := fs.Int64("max", 48<<20, "largest file, bytes")
	seed := fs.Uint64("seed", 1, "content seed")
	endFlag := fs.String("end", "", "when the shift ended, RFC 3339 (default: 30 minutes ago)")
	tz := fs.String("tz", "Asia/Shanghai", "the cameras' (and the station's) time zone")
	manifest := fs.String("manifest", "", "write 'sha256  camera/relpath' lines here")
	devices := fs.String("devices", "", "write the config's devices table entries here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *manifest == "" || *minSize < 0 || *maxSize < *minSize {
		return fmt.Errorf("gen: need -dir, -manifest and 0 <= -min <= -max")
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return err
	}
	end := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	if *endFlag != "" {
		if end, err = time.Parse(time.RFC3339, *endFlag); err != nil {
			return fmt.Errorf("-end: %w", err)
		}
	}
	m, err := os.Create(*manifest)
	if err != nil {
		return err
	}
	mw := bufio.NewWriter(m)
	g := generator{dir: *dir, files: *files, minSize: *minSize, maxSize: *maxSize, seed: *seed,
		start: end.Add(-shiftLen), loc: loc, buf: make([]byte, 1<<20)}
	for c := 1; c <= *cameras; c++ {
		if err := g.camera(c, mw); err != nil {
			m.Close()
			return err
		}
	}
	if err := mw.Flush(); err != nil {
		m.Close()
		return err
	}
	if err := m.Close(); err != nil {
		return err
	}
	if *devices != "" {
		var b []byte
		for c := 1; c <= *cameras; c++ {
			b = fmt.Appendf(b, "  - {serial: %q, officer: %q}\n", serial(c), officer(c))
		}
		return os.WriteFile(*devices, b, 0o644)
	}
	return nil
}

// serial and officer of camera c (from 1): J1000001 / 010001, the shapes
// of the GA/T 947 examples (7 digits after the letter, a 6-digit officer).
func serial(c int) string  { return fmt.Sprintf("J%07d", 1_000_000+c) }
func officer(c int) string { return fmt.Sprintf("%06d", 10_000+c) }

type generator struct {
	dir              string
	files            int
	minSize, maxSize int64
	seed             uint64
	start            time.Time
	loc              *time.Location
	buf              []byte
}

// camera writes camera c's files. Every officer worked the same shift, so
// file i of each camera was recorded at about the same time (7 s apart
// between cameras): the cameras' files interleave by time, as they do at
// a real shift change.
func (g *generator) camera(c int, manifest io.Writer) error {
	slot := fmt.Sprintf("cam%02d", c)
	every := shiftLen / time.Duration(g.files)
	dur := min(every/2, 5*time.Minute)
	sizes := rand.New(rand.NewPCG(g.seed, uint64(c)))
	for i := range g.files {
		size := g.minSize
		if g.maxSize > g.minSize {
			size += sizes.Int64N(g.maxSize - g.minSize + 1)
		}
		start := g.start.Add(time.Duration(i)*every + time.Duration(c)*7*time.Second)
		ext, mark := "JPG", ""
		if size >= 1<<20 {
			ext = "MP4"
		}
		if i%10 == 3 {
			mark = "_IMP" // the officer marked it important
		}
		name := fmt.Sprintf("%s_%s_%s_%04d%s.%s", serial(c), officer(c), start.In(g.loc).Format("20060102150405"),
			i+1, mark, ext)
		rel := filepath.Join(slot, "DCIM", fmt.Sprintf("%dMEDIA", 100+i/perFolder), name)
		sum, err := g.write(filepath.Join(g.dir, rel), size, c, i, start.Add(dur))
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(manifest, "%s  %s\n", sum, rel); err != nil {
			return err
		}
	}
	return nil
}

// write creates one file of size bytes of camera c's file i, dates it
// mtime and returns its SHA-256.
func (g *generator) write(path string, size int64, c, i int, mtime time.Time) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	rng := rand.NewChaCha8(sha256.Sum256(fmt.Appendf(nil, "%d/%d/%d", g.seed, c, i)))
	h := sha256.New()
	w := io.MultiWriter(f, h)
	for left := size; left > 0; {
		n := min(left, int64(len(g.buf)))
		_, _ = rng.Read(g.buf[:n])
		if _, err := w.Write(g.buf[:n]); err != nil {
			f.Close()
			return "", err
		}
		left -= n
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
