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
	"time"

	"custodian/storage"
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
	maxUploads := flag.Int("max-uploads", storage.DefaultMaxUploads, "uploads in flight")
	partSize := flag.Int64("part-size", storage.DefaultPartSize, "single PUT limit and part size")
	label := flag.String("label", "", "label of the result line")
	flag.Parse()

	cat, err := storage.OpenCatalog(filepath.Join(*data, "custodian.db"), storage.CatalogOptions{})
	if err != nil {
		return err
	}
	defer cat.Close()
	st, err := storage.OpenStaging(filepath.Join(*data, "staging"))
	if err != nil {
		return err
	}
	ctx := context.Background()
	var total int64
	for i, p := range flag.Args() {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		blob, err := st.Put(ctx, f, -1)
		f.Close()
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		_, _, err = cat.Add(storage.Recording{
			Station: "bench", Source: storage.SourceDock, SourceID: "dock-a", Device: "BENCH01", Officer: "000001",
			Name: fmt.Sprintf("%d-%s", i, filepath.Base(p)), Ext: "mp4", StartedAt: now, ReceivedAt: now,
			Size: blob.Size, SHA256: blob.SHA256, State: storage.StateVerified, StagedAt: now, VerifiedAt: now,
		})
		if err != nil {
			return err
		}
		total += blob.Size
	}

	a, err := storage.NewArchive(storage.ArchiveConfig{Endpoint: *endpoint, Bucket: *bucket,
		AccessKey: *access, SecretKey: *secret, PartSize: *partSize})
	if err != nil {
		return err
	}
	if _, err := a.Init(ctx); err != nil {
		return err
	}
	u, err := storage.NewUploader(storage.UploaderConfig{
		Station: "bench", Version: "bench", MaxUploads: *maxUploads, PollInterval: 50 * time.Millisecond,
		RetainUntil: func(r storage.Recording) time.Time { return r.StartedAt.AddDate(0, 0, 1) },
	}, cat, st, a, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- u.Run(runCtx) }()
	n := len(flag.Args())
	for {
		c, err := cat.Counts()
		if err != nil {
			cancel()
			return err
		}
		if c[storage.StateArchived] == n {
			break
		}
		if c[storage.StateCorrupt]+c[storage.StateMissing] > 0 {
			cancel()
			return errors.New("a staged copy failed verification")
		}
		time.Sleep(20 * time.Millisecond)
	}
	secs := time.Since(start).Seconds()
	cancel()
	if err := <-done; err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"label": *label, "files": n, "bytes": total, "seconds": secs, "mib_per_s": float64(total) / secs / (1 << 20),
	})
}
