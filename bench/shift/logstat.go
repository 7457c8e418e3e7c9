package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// logstat reads the daemon's JSON log (stdin) and says where a docking's
// time went, from the custody lines each file gets: found (copy starts),
// staged (copied through the hash, fsynced, renamed, re-read and verified),
// verified (the catalog has committed it), released (deleted from the
// camera and recorded). It also prints every warning and error, counted.
func logstat(args []string) error {
	fs := flag.NewFlagSet("logstat", flag.ContinueOnError)
	t0File := fs.String("t0", "", "the docking time, as dock wrote it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*t0File)
	if err != nil {
		return err
	}
	t0, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	steps := map[string]map[string]time.Time{} // path -> msg -> when
	problems := map[string]int{}
	var examples []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // not a log line (a panic trace would show in the raw log)
		}
		msg, _ := l["msg"].(string)
		level, _ := l["level"].(string)
		if level == "WARN" || level == "ERROR" {
			problems[level+" "+msg]++
			if len(examples) < 5 {
				examples = append(examples, sc.Text())
			}
		}
		path, _ := l["path"].(string)
		ts, _ := l["time"].(string)
		switch msg {
		case "found", "staged", "verified", "released":
		default:
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || path == "" {
			continue
		}
		if steps[path] == nil {
			steps[path] = map[string]time.Time{}
		}
		steps[path][msg] = at
	}
	if err := sc.Err(); err != nil {
		return err
	}
	printSteps(t0, steps)
	var keys []string
	for k := range problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		fmt.Println("log: no warnings or errors")
	}
	for _, k := range keys {
		fmt.Printf("log: %dx %s\n", problems[k], k)
	}
	for _, e := range examples {
		fmt.Printf("log:   e.g. %s\n", e)
	}
	return nil
}

type phase struct {
	name, from, to string
	sum, max       time.Duration
	n              int
}

func printSteps(t0 time.Time, steps map[string]map[string]time.Time) {
	phases := []*phase{
		{name: "copy through sha256 + fsync + rename + re-read", from: "found", to: "staged"},
		{name: "catalog commit", from: "staged", to: "verified"},
		{name: "release: delete, then its record (grouped)", from: "verified", to: "released"},
	}
	var first, last time.Time
	var busy time.Duration
	complete := 0
	for _, s := range steps {
		f, r := s["found"], s["released"]
		if f.IsZero() || r.IsZero() {
			continue
		}
		complete++
		busy += r.Sub(f)
		if first.IsZero() || f.Before(first) {
			first = f
		}
		if r.After(last) {
			last = r
		}
		for _, p := range phases {
			d := s[p.to].Sub(s[p.from])
			if s[p.from].IsZero() || s[p.to].IsZero() {
				continue
			}
			p.sum += d
			p.n++
			p.max = max(p.max, d)
		}
	}
	if complete == 0 {
		fmt.Println("log: no file went from found to released")
		return
	}
	wall := last.Sub(first)
	fmt.Printf("log: %d files; pickup_s=%.3f (docking to the first 'found': event debounce, settle, clock check) work_s=%.3f (first 'found' to last 'released')\n",
		complete, first.Sub(t0).Seconds(), wall.Seconds())
	if wall > 0 {
		fmt.Printf("log: files in flight on average %.2f\n", busy.Seconds()/wall.Seconds())
	}
	for _, p := range phases {
		if p.n == 0 {
			continue
		}
		fmt.Printf("log: %-48s mean %8.2f ms  max %8.1f ms  %5.1f%% of the files' time\n", p.name,
			float64(p.sum.Microseconds())/1000/float64(p.n), float64(p.max.Microseconds())/1000,
			100*p.sum.Seconds()/busy.Seconds())
	}
}
