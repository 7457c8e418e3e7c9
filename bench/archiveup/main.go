// Command archiveup measures custodian's archive upload path for
// bench/archive.sh: it stages the given files into a fresh catalog (not
// timed), then times the uploader until every record is archived.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"custodian/storage/archive"
	"custodian/storage/catalog"
	"custodian/storage/staging"
	"custodian/storage/upload"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "archiveup:", err)
		os.Exit(1)
	}
}

func run() error {
	endpoint := flag.String("endpoint", "", "host:port")
	bucket := flag.String("bucket", "bench", "bucket (created with Object Lock)")
	access := flag.String("access", "", "access key")
	secret := flag.String("secret", "", "secret key")
	data := flag.String("data", "", "directory for the catalog and staging")
	maxUploads := flag.Int("max-uploads", upload.DefaultMaxUploads, "uploads in flight")
	partSize := flag.Int64("part-size", archive.DefaultPartSize, "single PUT limit and part size")
	label := flag.String("label", "", "label of the result line")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed uploads here")
	flag.Parse()

	cat, err := catalog.Open(filepath.Join(*data, "custodian.db"), catalog.Options{})
	if err != nil {
		return err
	}
	defer cat.Close()
	st, err := staging.Open(filepath.Join(*data, "staging"))
	if err != nil {
		return err
	}
	ctx := context.Background()
	total, err := stage(ctx, cat, st, flag.Args())
	if err != nil {
		return err
	}

	a, err := archive.New(archive.Config{Endpoint: *endpoint, Bucket: *bucket,
		AccessKey: *access, SecretKey: *secret, PartSize: *partSize})
	if err != nil {
		return err
	}
	if _, err := a.Init(ctx); err != nil {
		return err
	}
	u, err := upload.New(upload.Config{
		Station: "bench", Version: "bench", MaxUploads: *maxUploads, PollInterval: 50 * time.Millisecond,
		RetainUntil: func(r catalog.Recording) time.Time { return r.StartedAt.AddDate(0, 0, 1) },
	}, cat, st, a, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		return err
	}
	n := len(flag.Args())
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	secs, err := timeUploads(ctx, u, cat, n)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"label": *label, "files": n, "bytes": total, "seconds": secs, "mib_per_s": float64(total) / secs / (1 << 20),
	})
}

// stage puts each file into staging and records it verified, ready for the
// uploader; it returns the bytes staged. This part is not timed.
func stage(ctx context.Context, cat *catalog.Catalog, st *staging.Staging, paths []string) (int64, error) {
	var total int64
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		blob, err := st.Put(ctx, f, -1, nil)
		f.Close()
		if err != nil {
			return 0, err
		}
		now := time.Now().UTC()
		_, _, err = cat.Add(catalog.Recording{
			Station: "bench", Source: catalog.SourceDock, SourceID: "dock-a", Device: "BENCH01", Officer: "000001",
			Name: fmt.Sprintf("%d-%s", i, filepath.Base(p)), Ext: "mp4", StartedAt: now, ReceivedAt: now,
			Size: blob.Size, SHA256: blob.SHA256, State: catalog.StateVerified, StagedAt: now, VerifiedAt: now,
		})
		if err != nil {
			return 0, err
		}
		total += blob.Size
	}
	return total, nil
}

// timeUploads runs the uploader until all n records are archived and
// returns the seconds it took.
func timeUploads(ctx context.Context, u *upload.Uploader, cat *catalog.Catalog, n int) (float64, error) {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- u.Run(runCtx) }()
	for {
		c, err := cat.Counts()
		if err != nil {
			cancel()
			return 0, err
		}
		if c[catalog.StateArchived] == n {
			break
		}
		if c[catalog.StateCorrupt]+c[catalog.StateMissing] > 0 {
			cancel()
			return 0, errors.New("a staged copy failed verification")
		}
		time.Sleep(20 * time.Millisecond)
	}
	secs := time.Since(start).Seconds()
	cancel()
	if err := <-done; err != nil {
		return 0, err
	}
	return secs, nil
}
