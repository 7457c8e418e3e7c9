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
	"strings"
	"text/tabwriter"
	"time"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/internal/config"
	"custodian/storage/catalog"
)

// ls lists recordings: from the running daemon's API when it answers, else
// straight from the catalog, read-only.
func ls(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file")
	asJSON := fs.Bool("json", false, "print JSON")
	room := fs.String("room", "", "show one interview room: its segments, gaps and sessions")
	q := url.Values{}
	for _, name := range []string{"officer", "device", "state", "from", "to", "limit"} {
		fs.Func(name, "filter by "+name, func(v string) error { q.Set(name, v); return nil })
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	filter, err := admin.ParseFilter(q, cfg.Location())
	if err != nil {
		return usageError{err}
	}
	if *room != "" {
		return lsRoom(ctx, cfg, *room, q, filter, *asJSON, stdout)
	}
	resp, err := listRemote(ctx, cfg, q)
	if err != nil {
		if !isNotListening(err) {
			return err
		}
		resp, err = listLocal(cfg, filter)
		if err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	printRecordings(stdout, resp.Recordings, cfg.Location())
	if resp.Truncated {
		fmt.Fprintln(stderr, "(more recordings match; narrow the filter or raise --limit)")
	}
	return nil
}

func listRemote(ctx context.Context, cfg *config.Config, q url.Values) (api.RecordingsResponse, error) {
	var out api.RecordingsResponse
	c, err := newClient(cfg)
	if err != nil {
		return out, err
	}
	return out, c.get(ctx, "/api/v1/recordings", q, &out)
}

func isNotListening(err error) bool {
	return errors.Is(err, errNotRunning)
}

func listLocal(cfg *config.Config, f catalog.Filter) (api.RecordingsResponse, error) {
	var out api.RecordingsResponse
	cat, err := catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{ReadOnly: true})
	if errors.Is(err, catalog.ErrLocked) {
		return out, fmt.Errorf("%w, but its admin API at %s does not answer", err, cfg.Admin.Listen)
	}
	if err != nil {
		return out, err
	}
	defer cat.Close()
	limit := f.Limit
	if limit == 0 {
		limit = admin.DefaultMaxResults
	}
	f.Limit = limit + 1
	recs, err := cat.List(f)
	if err != nil {
		return out, err
	}
	if len(recs) > limit {
		recs, out.Truncated = recs[:limit], true
	}
	out.Recordings = api.List(recs, admin.APIRecording)
	return out, nil
}

func printRecordings(w io.Writer, recs []api.Recording, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTARTED\tSOURCE\tDEVICE\tOFFICER\tSIZE\tSHA256\tFLAGS\tNAME")
	for _, r := range recs {
		flags := r.Flags
		if r.Important {
			flags = append([]string{"important"}, flags...)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n",
			r.ID, r.State, r.StartedAt.In(loc).Format("2006-01-02 15:04:05"), r.SourceID,
			dash(r.Device), dash(r.Officer), r.Size, r.SHA256[:12], dash(strings.Join(flags, ",")), r.Name)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
