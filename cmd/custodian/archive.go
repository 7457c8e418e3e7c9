package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"time"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/internal/config"
	"custodian/internal/digest"
	"custodian/retention"
	"custodian/storage/archive"
	"custodian/storage/catalog"
	"custodian/storage/staging"
	"custodian/storage/upload"
)

// archiveCmd runs `custodian archive <subcommand>`.
func archiveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprintln(stderr, "usage: custodian archive init --config FILE")
		if len(args) == 0 {
			return usageError{errors.New("archive: no subcommand given")}
		}
		return usageError{fmt.Errorf("archive: unknown subcommand %q", args[0])}
	}
	fs := flag.NewFlagSet("archive init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	a, err := openArchive(cfg)
	if err != nil {
		return err
	}
	rep, err := a.Init(ctx)
	if errors.Is(err, archive.ErrNoObjectLock) {
		return fmt.Errorf("bucket %q exists without Object Lock, so it cannot hold evidence: "+
			"Object Lock can only be enabled when a bucket is created. Set archive.bucket to a new name "+
			"and run `custodian archive init` again", a.Bucket())
	}
	if err != nil {
		return err
	}
	if rep.Created {
		fmt.Fprintf(stdout, "bucket %s: created with Object Lock and versioning\n", a.Bucket())
	} else {
		fmt.Fprintf(stdout, "bucket %s: exists, Object Lock and versioning enabled\n", a.Bucket())
	}
	if rep.LifecycleErr != nil {
		fmt.Fprintf(stdout, "lifecycle: the server refused the rule that aborts incomplete multipart uploads (%v);\n"+
			"  MinIO removes stale uploads on its own (MINIO_API_STALE_UPLOADS_EXPIRY)\n", rep.LifecycleErr)
	} else {
		fmt.Fprintf(stdout, "lifecycle: incomplete multipart uploads are aborted after %d days\n", archive.AbortIncompleteDays)
	}
	fmt.Fprintf(stdout, "objects are locked in COMPLIANCE mode until the later of recording start and receipt + %s\n", cfg.Retention.Standard)
	return nil
}

// openArchive builds the archive client from the config, or says the
// config has no archive.
func openArchive(cfg *config.Config) (*archive.Client, error) {
	if cfg.Archive == nil {
		return nil, configError{errors.New("config has no archive section (local-only mode)")}
	}
	sec, err := cfg.ReadSecrets()
	if err != nil {
		return nil, configError{err}
	}
	return archive.New(cfg.Archive.ClientConfig(sec))
}

// lockDate is the archive lock of a recording: retention's date, the only one.
func lockDate(p retention.Policy) func(catalog.Recording) time.Time {
	return func(r catalog.Recording) time.Time { return p.RetainUntil(&r) }
}

// newUploader wires the archive uploader for serve.
func newUploader(cfg *config.Config, a *archive.Client, cat *catalog.Catalog, st *staging.Staging, m *upload.Metrics, log *slog.Logger) (*upload.Uploader, error) {
	uc := cfg.UploadConfig()
	uc.Version = version
	uc.RetainUntil = lockDate(cfg.RetentionPolicy())
	return upload.New(uc, cat, st, a, log, m)
}

// verify re-checks archived recordings: with --archive it downloads each
// object version (or a random sample of them) and hashes it again.
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
	if *local {
		return verifyLocal(ctx, *configPath, *sample, stdout, stderr)
	}
	if *sample < 0 {
		return usageError{errors.New("verify: --sample must be positive")}
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	a, err := openArchive(cfg)
	if err != nil {
		return err
	}
	q := url.Values{"state": {string(catalog.StateArchived)}}
	resp, err := listRemote(ctx, cfg, q)
	if err != nil {
		if !isNotListening(err) {
			return err
		}
		resp, err = listLocal(cfg, catalog.Filter{State: catalog.StateArchived, Limit: admin.DefaultMaxResults})
		if err != nil {
			return err
		}
	}
	recs := resp.Recordings
	if resp.Truncated {
		fmt.Fprintf(stderr, "note: only the first %d archived recordings are checked\n", len(recs))
	}
	if *sample > 0 && *sample < len(recs) {
		rand.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		recs = recs[:*sample]
	}
	bad := 0
	for _, r := range recs {
		if err := verifyObject(ctx, a, r); err != nil {
			bad++
			fmt.Fprintf(stdout, "FAIL %d %s %s: %v\n", r.ID, r.SHA256, r.ArchiveKey, err)
			continue
		}
		fmt.Fprintf(stdout, "ok   %d %s %s version %s\n", r.ID, r.SHA256, r.ArchiveKey, r.ArchiveVersion)
	}
	fmt.Fprintf(stdout, "%d checked, %d failed\n", len(recs), bad)
	if bad > 0 {
		return fmt.Errorf("verify: %d of %d archived recordings failed", bad, len(recs))
	}
	return nil
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
func verifyLocal(ctx context.Context, configPath string, sample int, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return err
	}
	resp, err := listRemote(ctx, cfg, url.Values{})
	if err != nil {
		if !isNotListening(err) {
			return err
		}
		if resp, err = listLocal(cfg, catalog.Filter{Limit: admin.DefaultMaxResults}); err != nil {
			return err
		}
	}
	var recs []api.Recording
	for _, r := range resp.Recordings {
		if verifiedLocalCopy(r) {
			recs = append(recs, r)
		}
	}
	if resp.Truncated {
		fmt.Fprintf(stderr, "note: only the first %d recordings are checked\n", len(resp.Recordings))
	}
	if sample > 0 && sample < len(recs) {
		rand.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		recs = recs[:sample]
	}
	staging := filepath.Join(cfg.DataDir, "staging")
	bad := 0
	for _, r := range recs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p := filepath.Join(staging, r.SHA256[:2], r.SHA256)
		sha, n, err := digest.SumFile(p)
		switch {
		case err != nil:
			fmt.Fprintf(stdout, "FAIL %d %s: %v\n", r.ID, r.SHA256, err)
		case sha != r.SHA256 || n != r.Size:
			fmt.Fprintf(stdout, "FAIL %d %s: staged copy hashes to %s (%d bytes)\n", r.ID, r.SHA256, sha, n)
		default:
			fmt.Fprintf(stdout, "ok   %d %s\n", r.ID, r.SHA256)
			continue
		}
		bad++
	}
	fmt.Fprintf(stdout, "%d checked, %d failed\n", len(recs), bad)
	if bad > 0 {
		return fmt.Errorf("verify: %d of %d staged copies failed", bad, len(recs))
	}
	return nil
}
