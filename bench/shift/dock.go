package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// dock moves every camera folder of -from into -to at once (a rename each,
// on one filesystem: the cameras appear together, complete) and polls
// until each has no file left below it. It prints, per camera, the
// seconds from the docking until it was empty, then the first and the
// last. It fails when the daemon -pid dies or -timeout passes first.
func dock(args []string) error {
	fs := flag.NewFlagSet("dock", flag.ContinueOnError)
	from := fs.String("from", "", "folder holding the camera folders")
	to := fs.String("to", "", "the dock path")
	pid := fs.Int("pid", 0, "the daemon's pid")
	poll := fs.Duration("poll", 100*time.Millisecond, "how often each camera is looked at")
	timeout := fs.Duration("timeout", time.Hour, "give up after")
	progress := fs.Duration("progress", 10*time.Second, "print how many files are left this often (stderr)")
	t0File := fs.String("t0", "", "write the docking time here (RFC 3339, ns)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	entries, err := os.ReadDir(*from)
	if err != nil {
		return err
	}
	var slots []string
	for _, e := range entries {
		if e.IsDir() {
			slots = append(slots, e.Name())
		}
	}
	if len(slots) == 0 {
		return fmt.Errorf("dock: no camera folders in %s", *from)
	}
	t0 := time.Now()
	for _, s := range slots {
		if err := os.Rename(filepath.Join(*from, s), filepath.Join(*to, s)); err != nil {
			return fmt.Errorf("dock %s: %w", s, err)
		}
	}
	if *t0File != "" {
		if err := os.WriteFile(*t0File, []byte(t0.Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
			return err
		}
	}
	done := map[string]time.Duration{}
	var order []string
	nextProgress := t0.Add(*progress)
	for len(done) < len(slots) {
		time.Sleep(*poll)
		for _, s := range slots {
			if _, ok := done[s]; ok {
				continue
			}
			full, err := hasFile(filepath.Join(*to, s))
			if err != nil {
				return err
			}
			if !full {
				done[s] = time.Since(t0)
				order = append(order, s)
				fmt.Printf("camera %s empty_s=%.3f\n", s, done[s].Seconds())
			}
		}
		if len(done) == len(slots) {
			break
		}
		if err := alive(*pid); err != nil {
			return err
		}
		if el := time.Since(t0); el > *timeout {
			return fmt.Errorf("dock: %d of %d cameras still hold %d files after %s", len(slots)-len(done), len(slots),
				left(*to, slots, done), el.Round(time.Second))
		}
		if time.Now().After(nextProgress) {
			fmt.Fprintf(os.Stderr, "  %4.0f s: %d of %d cameras empty, %d files left\n",
				time.Since(t0).Seconds(), len(done), len(slots), left(*to, slots, done))
			nextProgress = nextProgress.Add(*progress)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return done[order[i]] < done[order[j]] })
	fmt.Printf("cameras=%d first=%s first_s=%.3f last=%s last_s=%.3f\n", len(slots),
		order[0], done[order[0]].Seconds(), order[len(order)-1], done[order[len(order)-1]].Seconds())
	return nil
}

// hasFile reports whether any non-directory is below dir. It stops at the
// first, reading the folders in small batches, so a full camera costs one
// short read.
func hasFile(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for {
		es, err := f.ReadDir(64)
		for _, e := range es {
			if !e.IsDir() {
				return true, nil
			}
			if full, err := hasFile(filepath.Join(dir, e.Name())); err != nil || full {
				return full, err
			}
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// left counts the files still on the cameras not yet empty.
func left(dock string, slots []string, done map[string]time.Duration) int {
	n := 0
	for _, s := range slots {
		if _, ok := done[s]; ok {
			continue
		}
		_ = filepath.WalkDir(filepath.Join(dock, s), func(_ string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				n++
			}
			return nil
		})
	}
	return n
}

// alive fails when the process is gone or a zombie.
func alive(pid int) error {
	if pid == 0 {
		return nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return fmt.Errorf("dock: the daemon (pid %d) is gone", pid)
	}
	// The state follows the command name in parentheses, which may hold spaces.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && strings.HasPrefix(string(b[i+1:]), " Z") {
		return fmt.Errorf("dock: the daemon (pid %d) exited", pid)
	}
	return nil
}
