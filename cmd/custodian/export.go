package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/internal/config"
	"custodian/storage/export"
)

// exportCmd: custodian export --case C (--out DIR | --tar FILE) [--why TEXT]
// asks the running daemon for the case's court export, or builds it from
// the catalog itself when no daemon runs; custodian export verify PATH
// checks an export, offline.
func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "verify" {
		return exportVerify(args[1:], stdout, stderr)
	}
	var caseID, out, tarPath, why string
	cfg, c, _, _, err := readClient("export", args, stderr, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&caseID, "case", "", "the case to export (required)")
		fs.StringVar(&out, "out", "", "write the export into this new directory")
		fs.StringVar(&tarPath, "tar", "", "write the export as this tar file")
		fs.StringVar(&why, "why", "", "why it is exported (recorded in the custody trail)")
	})
	if err != nil {
		return err
	}
	if caseID == "" || (out == "") == (tarPath == "") {
		return usageError{errors.New("export: want --case and one of --out DIR or --tar FILE")}
	}
	dest, err := newDestination(out, tarPath)
	if err != nil {
		return err
	}
	err = exportRemote(ctx, c, caseID, why, dest)
	if errors.Is(err, errNotRunning) {
		err = exportLocal(ctx, cfg, caseID, why, dest)
	}
	if err != nil {
		dest.abandon()
		return err
	}
	rep, err := dest.verify()
	if err != nil {
		return fmt.Errorf("the export written to %s does not verify: %w", dest.path(), err)
	}
	fmt.Fprintf(stdout, "exported case %s to %s: %d recordings, %d custody events, %d trail segments (%d archived); verified\n",
		caseID, dest.path(), rep.Recordings, rep.Events, rep.Segments, rep.Anchored)
	return nil
}

// exportRemote asks the daemon: POST /api/v1/cases/{case}/export answers
// with a tar stream, no time limit but the caller's.
func exportRemote(ctx context.Context, c *apiClient, caseID, why string, dest *destination) error {
	return c.withTimeout(0).stream(ctx, "/api/v1/cases/"+caseID+"/export", api.ExportRequest{Why: why}, dest.receive)
}

// exportLocal builds the export from the catalog itself: only when no
// daemon holds it, and only for a local account that is a supervisor
// among admin.users_file's users (the gate the API applies).
func exportLocal(ctx context.Context, cfg *config.Config, caseID, why string, dest *destination) error {
	who, err := localPrincipal(cfg)
	if err != nil {
		return err
	}
	x, cat, closeAll, err := localExporter(cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	recs, err := x.Plan(caseID)
	if err != nil {
		return err
	}
	if err := admin.TwoPersonExport(cat)(ctx, who, caseID, why); err != nil {
		return err
	}
	return dest.write(func(sink export.Sink) error {
		_, err := x.Export(ctx, export.Request{Case: caseID, By: who.Name, Why: why}, recs, sink)
		return err
	})
}

// exportVerify: custodian export verify PATH, a directory or a tar file.
func exportVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("export verify: want one directory or tar file")}
	}
	p := fs.Arg(0)
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	var rep export.Report
	if fi.IsDir() {
		rep, err = export.VerifyDir(p)
	} else {
		var f *os.File
		if f, err = os.Open(p); err != nil {
			return err
		}
		defer f.Close()
		rep, err = export.VerifyTar(f)
	}
	var ve *export.VerifyError
	if errors.As(err, &ve) {
		for _, pr := range ve.Problems {
			fmt.Fprintln(stdout, "FAIL", pr)
		}
		return fmt.Errorf("export %s does not verify: altered or missing: %s", p, strings.Join(ve.Files(), ", "))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok: %d files, %d recordings, %d custody events, %d trail segments (%d archived)\n",
		rep.Files, rep.Recordings, rep.Events, rep.Segments, rep.Anchored)
	return nil
}

// stream POSTs in and hands a 200 answer's body to read.
func (c *apiClient) stream(ctx context.Context, path string, in any, read func(io.Reader) error) error {
	var answer error
	err := c.doRaw(ctx, http.MethodPost, path, in, func(res *http.Response) error {
		answer = read(res.Body)
		return answer
	})
	if answer != nil {
		return fmt.Errorf("receive the export: %w", answer)
	}
	return err
}

// localPath is where the local exporter keeps a recording while checking it.
func localPath(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "export-tmp") }
