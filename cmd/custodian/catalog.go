package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"custodian/storage/catalog"
)

// catalogCmd works on the catalog file itself, with the daemon stopped:
// compact rewrites it in the current format, check proves it whole.
func catalogCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "compact" && args[0] != "check") {
		return usageError{errors.New("catalog: want compact or check")}
	}
	fs := flag.NewFlagSet("catalog "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.DataDir, "custodian.db")
	start := time.Now()
	if args[0] == "compact" {
		rep, err := catalog.Compact(path, time.Now)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "compacted %s: %d MiB -> %d MiB in %v; %d records, %d events, %d index entries checked\n",
			path, rep.Before>>20, rep.After>>20, time.Since(start).Round(time.Millisecond),
			rep.Check.Records, rep.Check.Events, rep.Check.IndexEntries)
		fmt.Fprintf(stdout, "the catalog as it was is kept at %s; remove it once the daemon runs well\n", rep.Kept)
		return nil
	}
	cat, err := catalog.Open(path, catalog.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer cat.Close()
	rep, err := cat.Check()
	if err != nil {
		return fmt.Errorf("catalog check %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "ok %s: custody trail of %d events, %d records, %d index entries and the counts agree (%v); %d records and %d events in the old JSON format\n",
		path, rep.Events, rep.Records, rep.IndexEntries, time.Since(start).Round(time.Millisecond), rep.JSONRecords, rep.JSONEvents)
	if rep.CaseIndexPending {
		fmt.Fprintln(stdout, "the case index is not built yet (a catalog from schema 2): custodian catalog compact builds it")
	}
	return nil
}
