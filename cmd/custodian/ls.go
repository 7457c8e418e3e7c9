package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/storage/catalog"
)

// ls lists recordings: from the running daemon's API when it answers, else
// straight from the catalog, read-only. Every match is listed, page by
// page, printed as it comes; --limit caps the total.
func ls(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file")
	asJSON := fs.Bool("json", false, "print JSON")
	room := fs.String("room", "", "show one interview room: its segments, gaps and sessions")
	q := url.Values{}
	for _, name := range []string{"officer", "device", "state", "from", "to"} {
		fs.Func(name, "filter by "+name, func(v string) error { q.Set(name, v); return nil })
	}
	fs.Func("flag", "only recordings with this flag ("+strings.Join(catalog.Flags, ", ")+")",
		func(v string) error { q.Set("flag", v); return nil })
	fs.Func("session", "an interview session's segments, in order (its whole recording)",
		func(v string) error { q.Set("session", v); return nil })
	fs.Func("limit", "list at most this many", func(v string) error { q.Set("limit", v); return nil })
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
	limit := filter.Limit
	q.Del("limit")
	p := &recordingPrinter{w: stdout, json: *asJSON, loc: cfg.Location()}
	more, err := eachRecording(ctx, cfg, q, filter, limit, p.page)
	if err != nil {
		return err
	}
	if err := p.end(more); err != nil {
		return err
	}
	if more && !*asJSON {
		fmt.Fprintln(stderr, "(more recordings match; narrow the filter or raise --limit)")
	}
	return nil
}

func isNotListening(err error) bool {
	return errors.Is(err, errNotRunning)
}

// recordingPrinter prints a listing as its pages come: a table, aligned
// page by page, or the one JSON document {"recordings": [...]} (with
// "truncated": true when --limit cut it short), written element by element.
type recordingPrinter struct {
	w       io.Writer
	json    bool
	loc     *time.Location
	started bool
	n       int
	tw      *tabwriter.Writer
}

func (p *recordingPrinter) page(recs []api.Recording) error {
	if !p.started {
		p.started = true
		if p.json {
			if _, err := io.WriteString(p.w, "{\n  \"recordings\": ["); err != nil {
				return err
			}
		} else {
			p.tw = tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(p.tw, "ID\tSTATE\tSTARTED\tSOURCE\tDEVICE\tOFFICER\tSIZE\tSHA256\tFLAGS\tNAME")
		}
	}
	if !p.json {
		printRecordings(p.tw, recs, p.loc)
		return p.tw.Flush()
	}
	for _, r := range recs {
		b, err := json.MarshalIndent(r, "    ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n    "
		if p.n == 0 {
			sep = "\n    "
		}
		p.n++
		if _, err := fmt.Fprintf(p.w, "%s%s", sep, b); err != nil {
			return err
		}
	}
	return nil
}

// end closes the listing; more: --limit left recordings out.
func (p *recordingPrinter) end(more bool) error {
	if err := p.page(nil); err != nil || !p.json {
		return err
	}
	end := "]"
	if p.n > 0 {
		end = "\n  ]"
	}
	if more {
		end += ",\n  \"truncated\": true"
	}
	_, err := io.WriteString(p.w, end+"\n}\n")
	return err
}

// printRecordings writes one row a recording; the caller flushes.
func printRecordings(tw io.Writer, recs []api.Recording, loc *time.Location) {
	for _, r := range recs {
		flags := r.Flags
		if r.Important {
			flags = append([]string{"important"}, flags...)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n",
			r.ID, r.State, r.StartedAt.In(loc).Format("2006-01-02 15:04:05"), r.SourceID,
			dash(r.Device), dash(r.Officer), r.Size, r.SHA256[:12], dash(strings.Join(flags, ",")), r.Name)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
