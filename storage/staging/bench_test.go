package staging

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"custodian/internal/digest"
)

// benchSize is the file size of the ingest benchmarks; bench/ingest.sh sets it.
func benchSize(b *testing.B) int64 {
	if s := os.Getenv("CUSTODIAN_BENCH_SIZE"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 64 << 20
}

// benchSource writes a file of random bytes outside staging.
func benchSource(b *testing.B, dir string, size int64) string {
	b.Helper()
	p := filepath.Join(dir, "src.mp4")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	rnd, _ := os.Open("/dev/urandom")
	defer rnd.Close()
	if _, err := io.CopyN(f, rnd, size); err != nil {
		b.Fatal(err)
	}
	f.Sync()
	f.Close()
	return p
}

// cold drops a file's cached pages so each round reads from the device, as
// an offload from a freshly docked camera does.
func cold(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	digest.DropCache(f)
	f.Close()
}

// BenchmarkIngest compares custodian's staging of one file (copy through
// SHA-256, fsync, rename, fsync dir, re-read from disk and re-hash) with the
// peer tools on the same file: `cp` then `sha256sum` of the copy, and the
// same with `sync` of the copy so both give the same durability.
func BenchmarkIngest(b *testing.B) {
	size := benchSize(b)
	dir := b.TempDir()
	src := benchSource(b, dir, size)
	b.Run("custodian", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			cold(b, src)
			os.RemoveAll(filepath.Join(dir, "staging"))
			s, err := Open(filepath.Join(dir, "staging"))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			f, err := os.Open(src)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Put(context.Background(), f, size, nil); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	for _, peer := range []struct{ name, script string }{
		{"cp+sha256sum", `cp "$1" "$2" && sha256sum "$2" >/dev/null`},
		{"cp+sync+sha256sum", `cp "$1" "$2" && sync "$2" && sha256sum "$2" >/dev/null`},
	} {
		b.Run(peer.name, func(b *testing.B) {
			dst := filepath.Join(dir, "peer.mp4")
			b.SetBytes(size)
			for b.Loop() {
				b.StopTimer()
				cold(b, src)
				os.Remove(dst)
				b.StartTimer()
				if out, err := exec.Command("sh", "-c", peer.script, "sh", src, dst).CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
			}
		})
	}
}

// BenchmarkPutMemory shows that memory per copy does not grow with the file:
// compare B/op across sizes.
func BenchmarkPutMemory(b *testing.B) {
	for _, size := range []int64{16 << 20, benchSize(b)} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			dir := b.TempDir()
			src := benchSource(b, dir, size)
			s, _ := Open(filepath.Join(dir, "staging"))
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				f, _ := os.Open(src)
				if _, err := s.Put(context.Background(), f, size, nil); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}
