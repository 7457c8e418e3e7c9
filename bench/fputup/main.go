// Command fputup is a peer of custodian in bench/archive.sh: minio-go's own
// FPutObject with its defaults (its part size, 4 threads, CRC32C), under the
// same COMPLIANCE lock custodian writes, from a fixed number of workers. It
// prints the seconds the uploads took as JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sync/errgroup"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fputup:", err)
		os.Exit(1)
	}
}

func run() error {
	endpoint := flag.String("endpoint", "", "host:port")
	bucket := flag.String("bucket", "fput", "bucket (created with Object Lock)")
	access := flag.String("access", "", "access key")
	secret := flag.String("secret", "", "secret key")
	workers := flag.Int("workers", 4, "files uploaded at once")
	label := flag.String("label", "", "label of the result line")
	flag.Parse()

	c, err := minio.New(*endpoint, &minio.Options{Creds: credentials.NewStaticV4(*access, *secret, "")})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := c.MakeBucket(ctx, *bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		return err
	}
	var total int64
	for _, p := range flag.Args() {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		total += fi.Size()
	}
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(*workers)
	for i, p := range flag.Args() {
		g.Go(func() error {
			key := fmt.Sprintf("%d-%s", i, filepath.Base(p))
			_, err := c.FPutObject(gctx, *bucket, key, p, minio.PutObjectOptions{
				Mode: minio.Compliance, RetainUntilDate: until})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"label": *label, "files": len(flag.Args()), "bytes": total, "seconds": secs, "mib_per_s": float64(total) / secs / (1 << 20),
	})
}
