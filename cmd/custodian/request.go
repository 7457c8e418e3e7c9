package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"custodian/admin/api"
)

// requestCmd: custodian request list | show ID | approve ID --why TEXT |
// reject ID --why TEXT | export --case C --why TEXT. A release of a
// permanent-class reason, a restore and a case export take two
// supervisors: one asks, a different one approves within 72 hours.
func requestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("request: want list, show, approve, reject or export")}
	}
	switch args[0] {
	case "list":
		return requestList(ctx, args[1:], stdout, stderr)
	case "show":
		return requestShow(ctx, args[1:], stdout, stderr)
	case "approve", "reject":
		return requestDecide(ctx, args[0], args[1:], stdout, stderr)
	case "export":
		var d decisionFlags
		c, err := mutator("request export", args[1:], stderr, &d, func(fs *flag.FlagSet) {
			d.register(fs, false)
			fs.StringVar(&d.caseNo, "case", "", "the case to export (required)")
		})
		if err != nil {
			return err
		}
		if d.caseNo == "" {
			return usageError{errors.New("request export: --case is required")}
		}
		return askRequest(ctx, c, "/api/v1/requests", api.NewRequest{Kind: "export", Case: d.caseNo, Why: d.why}, d.json, stdout)
	}
	return usageError{fmt.Errorf("request: unknown subcommand %q (want list, show, approve, reject or export)", args[0])}
}

func requestList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, c, asJSON, _, err := readClient("request list", args, stderr, 0, nil)
	if err != nil {
		return err
	}
	var resp api.RequestsResponse
	if err := c.get(ctx, "/api/v1/requests", nil, &resp); err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, resp)
	}
	if len(resp.Requests) == 0 {
		fmt.Fprintln(stdout, "no request waits for approval")
		return nil
	}
	printRequests(stdout, resp.Requests, cfg.Location())
	return nil
}

// printRequests is a table of requests, times in the station's zone.
func printRequests(w io.Writer, qs []api.Request, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tWHAT\tASKED BY\tAPPROVE BEFORE\tSTATE\tWHY")
	for _, q := range qs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", q.ID, q.Kind, requestWhat(q), q.By,
			q.Expires.In(loc).Format("2006-01-02 15:04"), q.State, q.Why)
	}
	tw.Flush()
}

// requestWhat names what a request acts on.
func requestWhat(q api.Request) string {
	var parts []string
	if q.Reason != "" {
		parts = append(parts, "reason "+q.Reason)
	}
	if q.Case != "" {
		parts = append(parts, "case "+q.Case)
	}
	if len(q.Recordings) > 0 {
		ids := make([]string, len(q.Recordings))
		for i, id := range q.Recordings {
			ids[i] = strconv.FormatUint(id, 10)
		}
		parts = append(parts, "recordings "+strings.Join(ids, ","))
	}
	return strings.Join(parts, ", ")
}

func requestShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	id, args, err := requestID("request show", args)
	if err != nil {
		return err
	}
	cfg, c, asJSON, _, err := readClient("request show", args, stderr, 0, nil)
	if err != nil {
		return err
	}
	var q api.Request
	if err := c.get(ctx, "/api/v1/requests/"+id, nil, &q); err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, q)
	}
	printRequests(stdout, []api.Request{q}, cfg.Location())
	return nil
}

// requestID takes the request id that comes first: request approve 7 --why ...
func requestID(name string, args []string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usageError{fmt.Errorf("%s: want the request id first", name)}
	}
	if n, err := strconv.ParseUint(args[0], 10, 64); err != nil || n == 0 {
		return "", nil, usageError{fmt.Errorf("%s: %q is not a request id", name, args[0])}
	}
	return args[0], args[1:], nil
}

func requestDecide(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	id, args, err := requestID("request "+verb, args)
	if err != nil {
		return err
	}
	var d decisionFlags
	c, err := mutator("request "+verb, args, stderr, &d, func(fs *flag.FlagSet) {
		fs.StringVar(&d.config, "config", defaultConfigPath, "config file")
		fs.StringVar(&d.by, "by", "", "your custodian user name, checked by the daemon (the trail records who authenticated)")
		fs.StringVar(&d.tokenFile, "token-file", "", "file holding your API token (default $"+tokenFileEnv+", else the admin socket)")
		fs.StringVar(&d.why, "why", "", "why (required, recorded in the custody trail)")
		fs.BoolVar(&d.json, "json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	var q api.Request
	if err := c.post(ctx, "/api/v1/requests/"+id+"/"+verb, api.DecisionRequest{Why: d.why}, &q); err != nil {
		return err
	}
	if d.json {
		return printJSON(stdout, q)
	}
	fmt.Fprintf(stdout, "request %d (%s, %s) asked by %s: %s by %s\n", q.ID, q.Kind, requestWhat(q), q.By, q.State, q.DecidedBy)
	return nil
}

// askRequest posts a new request and prints its id.
func askRequest(ctx context.Context, c *apiClient, path string, in any, asJSON bool, stdout io.Writer) error {
	var q api.Request
	if err := c.post(ctx, path, in, &q); err != nil {
		return err
	}
	return printAsked(stdout, q, asJSON)
}

func printAsked(w io.Writer, q api.Request, asJSON bool) error {
	if asJSON {
		return printJSON(w, q)
	}
	fmt.Fprintf(w, "request %d: %s of %s asked by %s; a different supervisor approves it before %s:\n  custodian request approve %d --why TEXT\n",
		q.ID, q.Kind, requestWhat(q), q.By, q.Expires.Format(time.RFC3339), q.ID)
	return nil
}

// decisionAnswer is what a release or restore route answers: the
// recording when it was done at once, or the request it became (it has a kind).
func decisionAnswer(raw json.RawMessage, stdout io.Writer, asJSON bool) (done bool, err error) {
	var probe struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return false, err
	}
	if probe.Kind == "" {
		return true, nil
	}
	var q api.Request
	if err := json.Unmarshal(raw, &q); err != nil {
		return false, err
	}
	return false, printAsked(stdout, q, asJSON)
}
