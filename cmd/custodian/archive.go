package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"custodian/internal/config"
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
