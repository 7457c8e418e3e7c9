package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"custodian/admin/api"
	"custodian/internal/config"
	"custodian/storage/catalog"
)

// status prints the state of the running daemon, from its admin API.
func status(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, c, asJSON, _, err := readClient("status", args, stderr, 0, nil)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.get(ctx, "/api/v1/status", nil, &raw); err != nil {
		return err
	}
	if asJSON {
		_, err := stdout.Write(append(raw, '\n'))
		return err
	}
	var v api.Status
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("admin API status: %w", err)
	}
	printStatus(stdout, v, cfg)
	return nil
}

func printStatus(w io.Writer, v api.Status, cfg *config.Config) {
	loc := cfg.Location()
	fmt.Fprintf(w, "station %s (custodian %s): %s\n", v.Station, v.Version, strings.ToUpper(v.Level.String()))

	fmt.Fprintln(w, "\nSTORAGE")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var volumes []api.Volume
	if v.Health != nil {
		volumes = v.Health.Volumes
	}
	for _, vol := range volumes {
		free := "unknown"
		if vol.TotalBytes > 0 {
			fraction := float64(vol.FreeBytes) / float64(vol.TotalBytes)
			free = fmt.Sprintf("%s free of %s (%.1f%%)", iec(vol.FreeBytes), iec(vol.TotalBytes), 100*fraction)
		}
		smart := vol.SMART.Note
		if vol.SMART.Passed != nil {
			smart = map[bool]string{true: "SMART passed", false: "SMART FAILING"}[*vol.SMART.Passed]
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", vol.Role, vol.Level, free, dash(vol.Device), smart)
	}
	if len(volumes) == 0 {
		fmt.Fprintln(tw, "  not sampled yet")
	}
	tw.Flush()
	printClock(w, v.Clock)

	fmt.Fprintln(w, "\nRECORDINGS")
	var parts []string
	for _, s := range catalog.States {
		parts = append(parts, fmt.Sprintf("%s %d", s, v.Counts[s]))
	}
	fmt.Fprintln(w, "  "+strings.Join(parts, "  "))

	printDocks(w, v.Docks, loc)
	printRooms(w, v.Rooms, loc)
	if len(v.Approvals) > 0 {
		fmt.Fprintln(w, "\nWAITING FOR A SECOND SUPERVISOR")
		printRequests(w, v.Approvals, loc)
	}

	if len(v.Checks) > 0 {
		fmt.Fprintln(w, "\nCHECKING")
		for _, c := range v.Checks {
			fmt.Fprintf(w, "  %s: %d of %d %s, since %s\n", c.Name, c.Done, c.Total, c.Unit, c.Started.In(loc).Format("15:04:05"))
		}
	}

	fmt.Fprintln(w, "\nALERTS")
	for _, a := range v.Alerts {
		fmt.Fprintf(w, "  %-8s  %s\n", strings.ToUpper(a.Level.String()), a.Text)
	}
	if len(v.Alerts) == 0 {
		fmt.Fprintln(w, "  none")
	}
}

// printClock says whether the station clock is trusted, and why not; nothing
// when the daemon does not watch it.
func printClock(w io.Writer, c *api.Clock) {
	if c == nil {
		return
	}
	fmt.Fprintln(w, "\nCLOCK")
	line := "  trusted"
	if !c.Trusted {
		line = "  NOT TRUSTED: retention evicts, expires and deletes nothing"
	}
	switch {
	case c.Synchronised == nil:
		line += ", synchronisation unknown"
	case *c.Synchronised:
		line += ", synchronised"
	default:
		line += ", not synchronised"
	}
	if c.MaxErrorSeconds != nil {
		line += fmt.Sprintf(", error up to %g s", *c.MaxErrorSeconds)
	}
	fmt.Fprintln(w, line)
	if c.Reason != "" {
		fmt.Fprintln(w, "  "+c.Reason)
	}
}

func iec(n uint64) string {
	v, units, i := float64(n), []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// printRooms says of each interview room whether it records, and since
// when and why not; nothing when the daemon has no rooms.
func printRooms(w io.Writer, rooms []api.Room, loc *time.Location) {
	if len(rooms) == 0 {
		return
	}
	fmt.Fprintln(w, "\nROOMS")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rooms {
		if r.Segment != "" {
			fmt.Fprintf(tw, "  %s\trecording\tsince %s\t%s\n", r.ID, r.Since.In(loc).Format("15:04:05"), r.Segment)
			continue
		}
		why := r.NotRecordingReason
		if r.LastError != "" {
			why += ": " + r.LastError
		}
		since := "-"
		if !r.NotRecordingSince.IsZero() {
			since = "since " + r.NotRecordingSince.In(loc).Format("15:04:05")
		}
		fmt.Fprintf(tw, "  %s\tNOT RECORDING\t%s\t%s\n", r.ID, since, why)
	}
	tw.Flush()
}

// printDocks lists each dock and its docked cameras.
func printDocks(w io.Writer, docks []api.Dock, loc *time.Location) {
	fmt.Fprintln(w, "\nDOCKS")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, d := range docks {
		state := "watching"
		switch {
		case d.Error != "":
			state = "error: " + d.Error
		case d.Paused:
			state = "paused"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d cameras docked\n", d.ID, state, len(d.Slots))
		for _, s := range d.Slots {
			last := "never"
			if !s.LastOffload.IsZero() {
				last = s.LastOffload.In(loc).Format("15:04:05")
			}
			progress := fmt.Sprintf("%d done, %d to go", s.DoneFiles, s.PendingFiles)
			if s.ETA > 0 && s.PendingFiles > 0 {
				progress += ", about " + s.ETA.Round(time.Second).String() + " left"
			}
			if s.State == "done" && s.DoneFiles+s.KeptFiles > 0 {
				progress = fmt.Sprintf("DONE, safe to undock (%d offloaded)", s.DoneFiles)
			}
			device := dash(s.Device)
			if s.Unregistered != "" {
				device += " (unregistered)"
			}
			fmt.Fprintf(tw, "    %s\t%s\tdocked %s\t%s, last offload %s\n", s.Slot, device,
				s.DockedSince.In(loc).Format("15:04"), progress, last)
			if left := s.LeftText(); left != "" {
				fmt.Fprintf(tw, "    \t\t\t%s\n", left)
			}
		}
	}
	if len(docks) == 0 {
		fmt.Fprintln(tw, "  none configured")
	}
	tw.Flush()
}
