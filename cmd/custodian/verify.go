package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"slices"
	"time"

	"custodian/admin/api"
	"custodian/internal/config"
	"custodian/internal/digest"
	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// verify re-checks recordings: with --archive it downloads each archived
// object version (or a random sample of them) and hashes it again; with
// --local it hashes the staged copies. Either way it reads every record,
// page by page.
func verify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file")
	fromArchive := fs.Bool("archive", false, "download archived objects and hash them again")
	local := fs.Bool("local", false, "read staged copies back from disk and hash them again (read-only)")
	sample := fs.Int("sample", 0, "check only this many recordings, chosen at random (0: all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *fromArchive == *local {
		return usageError{errors.New("verify: want --archive or --local")}
	}
	if *sample < 0 {
		return usageError{errors.New("verify: --sample must be positive")}
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *local {
		return verifyLocal(ctx, cfg, *sample, stdout)
	}
	a, err := openArchive(cfg)
	if err != nil {
		return err
	}
	q := url.Values{"state": {string(catalog.StateArchived)}}
	checked, bad, err := checkEach(ctx, cfg, q, catalog.Filter{State: catalog.StateArchived}, *sample, nil, func(r api.Recording) bool {
		if err := verifyObject(ctx, a, r); err != nil {
			fmt.Fprintf(stdout, "FAIL %d %s %s: %v\n", r.ID, r.SHA256, r.ArchiveKey, err)
			return false
		}
		fmt.Fprintf(stdout, "ok   %d %s %s version %s\n", r.ID, r.SHA256, r.ArchiveKey, r.ArchiveVersion)
		return true
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d checked, %d failed\n", checked, bad)
	if bad > 0 {
		return fmt.Errorf("verify: %d of %d archived recordings failed", bad, checked)
	}
	return nil
}

// checkEach runs check on every listed recording that keep (nil: all)
// selects, in listing order as the pages come, or on sample of them (0:
// all) chosen at random over the whole listing, in id order. It counts the
// checks and the failures.
func checkEach(ctx context.Context, cfg *config.Config, q url.Values, f catalog.Filter, sample int,
	keep, check func(api.Recording) bool) (checked, bad int, err error) {
	run := func(r api.Recording) {
		checked++
		if !check(r) {
			bad++
		}
	}
	var chosen []api.Recording // a uniform sample of the seen ones (reservoir)
	seen := 0
	_, err = eachRecording(ctx, cfg, q, f, 0, func(recs []api.Recording) error {
		for _, r := range recs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if keep != nil && !keep(r) {
				continue
			}
			switch {
			case sample == 0:
				run(r)
			case seen < sample:
				chosen = append(chosen, r)
			default:
				if j := rand.IntN(seen + 1); j < sample {
					chosen[j] = r
				}
			}
			seen++
		}
		return nil
	})
	if err != nil {
		return checked, bad, err
	}
	slices.SortFunc(chosen, func(a, b api.Recording) int { return cmp.Compare(a.ID, b.ID) })
	for _, r := range chosen {
		if err := ctx.Err(); err != nil {
			return checked, bad, err
		}
		run(r)
	}
	return checked, bad, nil
}

func verifyObject(ctx context.Context, a *archive.Client, r api.Recording) error {
	head, err := a.Head(ctx, r.ArchiveKey, r.ArchiveVersion)
	if err != nil {
		return err
	}
	if head.RetentionMode != archive.RetentionCompliance || head.RetainUntil.Before(r.RetainUntil) {
		return fmt.Errorf("lock is %q until %s, recorded COMPLIANCE until %s", head.RetentionMode,
			head.RetainUntil.Format(time.RFC3339), r.RetainUntil.Format(time.RFC3339))
	}
	rc, err := a.Get(ctx, r.ArchiveKey, r.ArchiveVersion)
	if err != nil {
		return err
	}
	defer rc.Close()
	sha, n, err := digest.Sum(rc)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if n != r.Size || sha != r.SHA256 {
		return fmt.Errorf("downloaded %d bytes with sha256 %s, recorded %d bytes %s", n, sha, r.Size, r.SHA256)
	}
	return nil
}

// verifiedLocalCopy reports whether staging should hold a copy of r that
// was verified once: what `verify --local` reads again. A staged copy has
// not been re-read yet; an evicted one is gone on purpose.
func verifiedLocalCopy(r api.Recording) bool {
	switch r.State {
	case catalog.StateVerified, catalog.StateArchived, catalog.StateExpiring:
		return r.EvictedAt.IsZero()
	}
	return false
}

// verifyLocal hashes staged copies from disk and reports, without changing
// anything: the daemon's scheduled scrub records what it finds.
func verifyLocal(ctx context.Context, cfg *config.Config, sample int, stdout io.Writer) error {
	staging := filepath.Join(cfg.DataDir, "staging")
	checked, bad, err := checkEach(ctx, cfg, url.Values{}, catalog.Filter{}, sample, verifiedLocalCopy, func(r api.Recording) bool {
		p := filepath.Join(staging, r.SHA256[:2], r.SHA256)
		sha, n, err := digest.SumFile(p)
		switch {
		case err != nil:
			fmt.Fprintf(stdout, "FAIL %d %s: %v\n", r.ID, r.SHA256, err)
		case sha != r.SHA256 || n != r.Size:
			fmt.Fprintf(stdout, "FAIL %d %s: staged copy hashes to %s (%d bytes)\n", r.ID, r.SHA256, sha, n)
		default:
			fmt.Fprintf(stdout, "ok   %d %s\n", r.ID, r.SHA256)
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d checked, %d failed\n", checked, bad)
	if bad > 0 {
		return fmt.Errorf("verify: %d of %d staged copies failed", bad, checked)
	}
	return nil
}
