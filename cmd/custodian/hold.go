package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"custodian/admin/api"
	"custodian/internal/config"
	"custodian/storage/catalog"
	"custodian/storage/upload"
)

// decisionFlags are the flags every recorded decision takes.
type decisionFlags struct {
	config, by, why, reason, caseNo, officer, room, from, to string
	tokenFile                                                string
	ids                                                      []uint64
	json                                                     bool
}

func (d *decisionFlags) register(fs *flag.FlagSet, selectors bool) {
	fs.StringVar(&d.config, "config", defaultConfigPath, "config file")
	fs.StringVar(&d.by, "by", "", "your custodian user name, checked by the daemon (the trail records who authenticated)")
	fs.StringVar(&d.tokenFile, "token-file", "", "file holding your API token (default $"+tokenFileEnv+", else the admin socket)")
	fs.StringVar(&d.why, "why", "", "why (required, recorded in the custody trail)")
	fs.BoolVar(&d.json, "json", false, "print JSON")
	fs.Func("id", "recording id (repeatable)", func(v string) error {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil || id == 0 {
			return fmt.Errorf("want a recording id")
		}
		d.ids = append(d.ids, id)
		return nil
	})
	if selectors {
		fs.StringVar(&d.officer, "officer", "", "select an officer's recordings (with --from and --to)")
		fs.StringVar(&d.room, "room", "", "select a room's recordings (with --from and --to)")
		fs.StringVar(&d.from, "from", "", "start of the selection (date or time, station zone)")
		fs.StringVar(&d.to, "to", "", "end of the selection (exclusive)")
	}
}

// mutator parses flags, loads the config and returns a client that may change things.
func mutator(name string, args []string, stderr io.Writer, d *decisionFlags, setup func(*flag.FlagSet)) (*apiClient, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	setup(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if d.why == "" {
		return nil, usageError{errors.New("--why is required: every decision is recorded with its reason")}
	}
	cfg, err := loadConfig(d.config)
	if err != nil {
		return nil, err
	}
	c, err := newClient(cfg)
	if err == nil && d.tokenFile != "" {
		err = c.useTokenFile(cfg, d.tokenFile)
	}
	if err != nil {
		return nil, err
	}
	return c, c.withToken(d.by)
}

// hold: custodian hold --reason R --why TEXT [--case C] (--id ID... | --officer N --from T --to T | --room R --from T --to T)
func hold(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var d decisionFlags
	c, err := mutator("hold", args, stderr, &d, func(fs *flag.FlagSet) {
		d.register(fs, true)
		fs.StringVar(&d.reason, "reason", "", "evidence, obstruction, major-emergency, mass-incident or major-case")
		fs.StringVar(&d.caseNo, "case", "", "case number")
	})
	if err != nil {
		return err
	}
	return sendHold(ctx, c, "/api/v1/holds", d, stdout)
}

func sendHold(ctx context.Context, c *apiClient, path string, d decisionFlags, stdout io.Writer) error {
	req := api.HoldRequest{Reason: d.reason, Why: d.why, Case: d.caseNo, IDs: d.ids,
		Officer: d.officer, Room: d.room, From: d.from, To: d.to}
	var resp api.HoldResponse
	if err := c.post(ctx, path, req, &resp); err != nil {
		return err
	}
	if d.json {
		return printJSON(stdout, resp)
	}
	fmt.Fprintf(stdout, "held %d recording(s) by %s: %v\n", len(resp.IDs), resp.Actor, resp.IDs)
	if resp.Warning != "" {
		fmt.Fprintln(stdout, "warning:", resp.Warning)
	}
	return nil
}

// release: custodian release --id ID --reason R --why TEXT
func release(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var d decisionFlags
	c, err := mutator("release", args, stderr, &d, func(fs *flag.FlagSet) {
		d.register(fs, false)
		fs.StringVar(&d.reason, "reason", "", "the reason to remove (see custodian ls --json: holds)")
	})
	if err != nil {
		return err
	}
	return decide(ctx, c, d, "release", stdout)
}

// restore: custodian restore --id ID --why TEXT
func restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var d decisionFlags
	c, err := mutator("restore", args, stderr, &d, func(fs *flag.FlagSet) { d.register(fs, false) })
	if err != nil {
		return err
	}
	return decide(ctx, c, d, "restore", stdout)
}

func decide(ctx context.Context, c *apiClient, d decisionFlags, what string, stdout io.Writer) error {
	if len(d.ids) != 1 {
		return usageError{fmt.Errorf("%s takes exactly one --id", what)}
	}
	var raw json.RawMessage
	path := fmt.Sprintf("/api/v1/recordings/%d/%s", d.ids[0], what)
	if err := c.post(ctx, path, api.DecisionRequest{Reason: d.reason, Why: d.why}, &raw); err != nil {
		return err
	}
	// A legal reason's release and every restore become a request.
	if done, err := decisionAnswer(raw, stdout, d.json); !done || err != nil {
		return err
	}
	var rec api.Recording
	if err := json.Unmarshal(raw, &rec); err != nil {
		return err
	}
	if d.json {
		return printJSON(stdout, rec)
	}
	var reasons []string
	for _, h := range rec.Holds {
		reasons = append(reasons, h.Reason)
	}
	fmt.Fprintf(stdout, "recording %d: %s, holds: %s\n", rec.ID, rec.State, dash(strings.Join(reasons, ",")))
	return nil
}

// caseCmd: custodian case link --case C ...selectors... | custodian case show C
func caseCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("case: want link or show")}
	}
	switch args[0] {
	case "link":
		var d decisionFlags
		c, err := mutator("case link", args[1:], stderr, &d, func(fs *flag.FlagSet) {
			d.register(fs, true)
			fs.StringVar(&d.caseNo, "case", "", "case number (required)")
		})
		if err != nil {
			return err
		}
		if d.caseNo == "" {
			return usageError{errors.New("case link: --case is required")}
		}
		return sendHold(ctx, c, "/api/v1/cases/"+url.PathEscape(d.caseNo)+"/links", d, stdout)
	case "show":
		cfg, c, asJSON, rest, err := readClient("case show", args[1:], stderr, 1, nil)
		if err != nil {
			return err
		}
		var resp api.RecordingsResponse
		if err := c.get(ctx, "/api/v1/cases/"+url.PathEscape(rest[0]), nil, &resp); err != nil {
			return err
		}
		if asJSON {
			return printJSON(stdout, resp)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tSTARTED\tOFFICER\tSHA256\tARCHIVE KEY\tHOLDS")
		for _, r := range resp.Recordings {
			var reasons []string
			for _, h := range r.Holds {
				reasons = append(reasons, h.Reason)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State, r.StartedAt.In(cfg.Location()).Format("2006-01-02 15:04:05"),
				dash(r.Officer), r.SHA256, dash(r.ArchiveKey), strings.Join(reasons, ","))
		}
		return tw.Flush()
	}
	return usageError{fmt.Errorf("case: unknown subcommand %q (want link or show)", args[0])}
}

// readCmd runs a read-only API call and prints its JSON, or a summary.
func readCmd(ctx context.Context, name string, args []string, stdout, stderr io.Writer,
	setup func(*flag.FlagSet, url.Values), path string, summary func(io.Writer, json.RawMessage) error) error {
	q := url.Values{}
	_, c, asJSON, _, err := readClient(name, args, stderr, 0, func(fs *flag.FlagSet) { setup(fs, q) })
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.get(ctx, path, q, &raw); err != nil {
		return err
	}
	if asJSON || summary == nil {
		_, err := fmt.Fprintf(stdout, "%s\n", raw)
		return err
	}
	return summary(stdout, raw)
}

// retentionCmd: custodian retention plan [--at TIME] [--json]
func retentionCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "plan" {
		return usageError{errors.New("retention: want plan")}
	}
	return readCmd(ctx, "retention plan", args[1:], stdout, stderr, func(fs *flag.FlagSet, q url.Values) {
		fs.Func("at", "plan for this time (default now)", func(v string) error { q.Set("at", v); return nil })
	}, "/api/v1/retention/plan", func(w io.Writer, raw json.RawMessage) error {
		var res api.Plan
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ACTION\tID\tSIZE\tREASON")
		for _, a := range res.Actions {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", a.Kind, a.ID, a.Size, a.Reason)
		}
		tw.Flush()
		for _, s := range res.Warnings {
			fmt.Fprintln(w, "warning:", s)
		}
		if res.Short > 0 {
			fmt.Fprintf(w, "short of space by %d bytes after every allowed eviction: docks pause\n", res.Short)
		}
		return nil
	})
}

// report: custodian report --day YYYY-MM-DD [--json]
func report(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return readCmd(ctx, "report", args, stdout, stderr, func(fs *flag.FlagSet, q url.Values) {
		fs.Func("day", "the day, YYYY-MM-DD in the station's zone (required)", func(v string) error { q.Set("day", v); return nil })
	}, "/api/v1/report", nil)
}

// auditTimeout is how long audit verify waits for its one answer: the
// daemon reads the whole trail, about 12 s at a million recordings, and
// stops when the CLI leaves (Ctrl-C).
const auditTimeout = 30 * time.Minute

// audit: custodian audit verify [--json]. Asks the running daemon, or
// reads the catalog itself (read-only) when none runs.
func audit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{errors.New("audit: want verify")}
	}
	cfg, c, asJSON, _, err := readClient("audit verify", args[1:], stderr, 0, nil)
	if err != nil {
		return err
	}
	var res api.AuditResponse
	err = c.withTimeout(auditTimeout).get(ctx, "/api/v1/audit/verify", nil, &res)
	if errors.Is(err, errNotRunning) {
		res, err = auditLocal(ctx, cfg)
	}
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(stdout, res); err != nil {
			return err
		}
	} else if res.OK {
		fmt.Fprintf(stdout, "custody trail intact: %d events checked\n", res.Checked)
	}
	if !res.OK {
		return errors.New(res.Error)
	}
	return nil
}

func auditLocal(ctx context.Context, cfg *config.Config) (api.AuditResponse, error) {
	cat, err := catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{ReadOnly: true})
	if err != nil {
		return api.AuditResponse{}, err
	}
	defer cat.Close()
	var store upload.Lister
	if cfg.Archive != nil {
		a, err := openArchive(cfg)
		if err != nil {
			return api.AuditResponse{}, err
		}
		store = a
	}
	n, err := upload.VerifyAudit(ctx, cat, store, cfg.Station)
	res := api.AuditResponse{OK: err == nil, Checked: n}
	if err != nil {
		res.Error = err.Error()
	}
	return res, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
