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
	"custodian/internal/config"
	"custodian/storage/catalog"
)

// interview starts or stops an interview session through the daemon's
// admin API: the daemon owns the catalog while it runs, and only it knows
// whether the room's feed is being recorded.
func interview(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "start" && args[0] != "stop") {
		fmt.Fprintln(stderr, "usage: custodian interview start --room R --case C --subject ID --officer N [--officer N2] [--note TEXT]\n       custodian interview stop --room R")
		return usageError{errors.New("interview: want start or stop")}
	}
	verb := args[0]
	fs := flag.NewFlagSet("interview "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file")
	room := fs.String("room", "", "room id (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	by := fs.String("by", "", "your custodian user name, checked by the daemon (the trail records who authenticated)")
	tokenFile := fs.String("token-file", "", "file holding your API token (default $"+tokenFileEnv+", else the admin socket)")
	var req api.StartSessionRequest
	if verb == "start" {
		fs.StringVar(&req.Case, "case", "", "case number (required)")
		fs.StringVar(&req.Subject, "subject", "", "id of the person questioned (required)")
		fs.Func("officer", "officer number (required; repeat for each officer)", func(v string) error {
			req.Officers = append(req.Officers, v)
			return nil
		})
		fs.StringVar(&req.Note, "note", "", "free text note")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := sessionFlagsGiven(verb, *room, req); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	path := api.RoomPath(*room) + "/sessions"
	var body any = req
	if verb == "stop" {
		path += "/stop"
		body = struct{}{}
	}
	c, err := newClient(cfg)
	if err == nil && *tokenFile != "" {
		err = c.useTokenFile(cfg, *tokenFile)
	}
	if err != nil {
		return err
	}
	if err := c.withToken(*by); err != nil {
		return err
	}
	var resp api.SessionResponse
	if err := c.post(ctx, path, body, &resp); err != nil {
		return fmt.Errorf("interview %s: %w", verb, err)
	}
	if resp.Warning != "" {
		fmt.Fprintf(stderr, "\nWARNING: %s\n\n", resp.Warning)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	printSession(stdout, verb, resp.Session, cfg.Location())
	return nil
}

// sessionFlagsGiven names every required flag left out, at once.
func sessionFlagsGiven(verb, room string, req api.StartSessionRequest) error {
	var missing []string
	if room == "" {
		missing = append(missing, "--room")
	}
	if verb == "start" {
		for _, f := range []struct{ name, v string }{{"--case", req.Case}, {"--subject", req.Subject}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(req.Officers) == 0 {
			missing = append(missing, "--officer")
		}
	}
	if len(missing) > 0 {
		return usageError{fmt.Errorf("interview %s: missing %s", verb, strings.Join(missing, ", "))}
	}
	return nil
}

func printSession(w io.Writer, verb string, s api.Session, loc *time.Location) {
	if verb == "start" {
		fmt.Fprintf(w, "session %d started in room %s at %s: case %s, subject %s, officers %s\n",
			s.ID, s.Room, s.StartedAt.In(loc).Format(time.DateTime), s.Case, s.Subject, strings.Join(s.Officers, ","))
		return
	}
	fmt.Fprintf(w, "session %d in room %s stopped at %s (%s): case %s\n",
		s.ID, s.Room, s.EndedAt.In(loc).Format(time.DateTime), s.EndedAt.Sub(s.StartedAt).Round(time.Second), s.Case)
}

// printRoom prints a room's segments, then its gaps and sessions.
func printRoom(w io.Writer, r api.RoomResponse, loc *time.Location) {
	state := "feed down"
	switch {
	case !r.Configured:
		state = "not configured"
	case r.Connected:
		state = "recording"
	}
	fmt.Fprintf(w, "room %s: %s\n\nSEGMENTS\n", r.Room, state)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTARTED\tENDED\tDURATION\tSIZE\tSHA256\tCASE\tFLAGS")
	for _, s := range r.Segments {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.ID, s.State, stamp(s.StartedAt, loc), stamp(s.EndedAt, loc),
			s.EndedAt.Sub(s.StartedAt).Round(time.Second), s.Size, s.SHA256[:12], dash(s.Case), dash(strings.Join(s.Flags, ",")))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nGAPS")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "START\tEND\tDURATION\tREASON\tTRACK")
	for _, g := range r.Gaps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", stamp(g.Start, loc), stamp(g.End, loc), g.Duration().Round(time.Millisecond), g.Reason, dash(g.Track))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nSESSIONS")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tENDED\tCASE\tSUBJECT\tOFFICERS")
	for _, s := range r.Sessions {
		ended := "open"
		if !s.Open() {
			ended = stamp(s.EndedAt, loc)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, stamp(s.StartedAt, loc), ended, s.Case, s.Subject, strings.Join(s.Officers, ","))
	}
	tw.Flush()
}

func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// roomLocal reads a room from the catalog, read-only, when the daemon is not
// running: one page of segments, as the API answers.
func roomLocal(cfg *config.Config, room string, f catalog.Filter) (api.RoomResponse, error) {
	out := api.RoomResponse{Room: room}
	for _, r := range cfg.Rooms {
		out.Configured = out.Configured || r.ID == room
	}
	cat, err := openCatalogReadOnly(cfg)
	if err != nil {
		return out, err
	}
	defer cat.Close()
	if f.Limit == 0 {
		f.Limit = admin.DefaultMaxResults
	}
	segs, next, err := cat.ListPage(f)
	if err != nil {
		return out, err
	}
	out.Segments, out.Truncated = api.List(segs, admin.APIRecording), next != nil
	gaps, err := cat.Gaps(room, f.From, f.To)
	if err != nil {
		return out, err
	}
	sessions, err := cat.Sessions(room, f.From, f.To)
	out.Gaps, out.Sessions = api.List(gaps, admin.APIGap), api.List(sessions, admin.APISession)
	return out, err
}

// lsRoom shows one room: from the daemon's API, else from the catalog.
func lsRoom(ctx context.Context, cfg *config.Config, room string, q url.Values, f catalog.Filter, asJSON bool, stdout io.Writer) error {
	var resp api.RoomResponse
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	if err := c.get(ctx, api.RoomPath(room), q, &resp); err != nil {
		if !isNotListening(err) {
			return err
		}
		f.Source, f.SourceID = catalog.SourceRoom, room
		if resp, err = roomLocal(cfg, room, f); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	printRoom(stdout, resp, cfg.Location())
	return nil
}
