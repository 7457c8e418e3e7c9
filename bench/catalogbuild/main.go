// Command catalogbuild writes a benchmark catalog for `custodian serve`: a
// busy station's year of N recordings (catalogtest.Station) in the config's
// data_dir, under its retention policy, caught up at now, with the upload
// backlog's content staged. bench/start.sh starts the daemon on it.
//
//	go run ./bench/catalogbuild -config FILE -n 1000000
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"custodian/internal/config"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"
)

func main() {
	configPath := flag.String("config", "", "the daemon's config file (data_dir, timezone, retention)")
	n := flag.Int("n", 1_000_000, "recordings")
	ahead := flag.Duration("ahead", 10*time.Minute, "build the catalog as of now plus this, so the daemon's first sweep finds nothing due")
	flag.Parse()
	if err := run(*configPath, *n, *ahead); err != nil {
		fmt.Fprintln(os.Stderr, "catalogbuild:", err)
		os.Exit(1)
	}
}

func run(configPath string, n int, ahead time.Duration) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	p := cfg.RetentionPolicy()
	cat, err := catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{NoSync: true})
	if err != nil {
		return err
	}
	st, err := staging.Open(filepath.Join(cfg.DataDir, "staging"))
	if err != nil {
		cat.Close()
		return err
	}
	start := time.Now()
	err = catalogtest.Station{N: n, Now: start.Add(ahead), LocalKeep: p.LocalKeep, Grace: p.Grace, RetainUntil: p.RetainUntil,
		Stage: func(content []byte) error {
			_, err := st.Put(context.Background(), bytes.NewReader(content), int64(len(content)), nil)
			return err
		}}.Build(cat)
	if cerr := cat.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "catalogbuild: %d recordings in %v\n", n, time.Since(start).Round(time.Second))
	return nil
}
