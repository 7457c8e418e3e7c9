package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// check reads `custodian ls --json` on stdin and fails unless the catalog
// holds exactly the files of -manifest: one record each, under its name,
// with the manifest's SHA-256, verified, released from the camera, no
// release pending and no flag (the generated names and clocks are all
// plausible, so any flag means the data or the daemon went wrong).
func check(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	manifest := fs.String("manifest", "", "the generator's manifest")
	if err := fs.Parse(args); err != nil {
		return err
	}
	want, err := readManifest(*manifest)
	if err != nil {
		return err
	}
	var resp struct {
		Recordings []struct {
			ID             uint64    `json:"id"`
			Source         string    `json:"source"`
			Name           string    `json:"name"`
			SHA256         string    `json:"sha256"`
			State          string    `json:"state"`
			Important      bool      `json:"important"`
			Flags          []string  `json:"flags"`
			ReleasedAt     time.Time `json:"released_at"`
			PendingRelease []byte    `json:"pending_release"`
		} `json:"recordings"`
		Truncated bool `json:"truncated"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&resp); err != nil {
		return fmt.Errorf("check: read ls --json: %w", err)
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if resp.Truncated {
		bad("the listing is truncated")
	}
	seen := map[string]bool{}
	important := 0
	for _, r := range resp.Recordings {
		sha, ok := want[r.Name]
		switch {
		case !ok:
			bad("recording %d %s: not a file that was docked", r.ID, r.Name)
			continue
		case seen[r.Name]:
			bad("recording %d %s: catalogued twice", r.ID, r.Name)
		case r.SHA256 != sha:
			bad("recording %d %s: sha256 %s, the file had %s", r.ID, r.Name, r.SHA256, sha)
		case r.State != "verified" || r.Source != "dock":
			bad("recording %d %s: %s from %s, want verified from dock", r.ID, r.Name, r.State, r.Source)
		case r.ReleasedAt.IsZero() || len(r.PendingRelease) > 0:
			bad("recording %d %s: release not recorded", r.ID, r.Name)
		case len(r.Flags) > 0:
			bad("recording %d %s: flagged %s", r.ID, r.Name, strings.Join(r.Flags, ","))
		case r.Important != strings.Contains(r.Name, "_IMP."):
			bad("recording %d %s: important=%v", r.ID, r.Name, r.Important)
		}
		seen[r.Name] = true
		if r.Important {
			important++
		}
	}
	for name := range want {
		if !seen[name] {
			bad("%s: not in the catalog", name)
		}
	}
	if len(problems) > 0 {
		if len(problems) > 10 {
			problems = append(problems[:10], fmt.Sprintf("... and %d more", len(problems)-10))
		}
		return errors.New("catalog check FAILED:\n  " + strings.Join(problems, "\n  "))
	}
	fmt.Printf("catalog: %d recordings, each verified, released, no flags, sha256 equal to the file written (%d important)\n",
		len(resp.Recordings), important)
	return nil
}

// readManifest maps each file's name to its SHA-256.
func readManifest(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sha, rel, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		m[filepath.Base(rel)] = sha
	}
	return m, sc.Err()
}
