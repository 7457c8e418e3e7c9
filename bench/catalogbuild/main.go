// Command catalogbuild writes a benchmark catalog for `custodian serve`: a
// busy station's year of N recordings (catalogtest.Station) in the config's
// data_dir, under its retention policy, caught up at now, with the upload
// backlog's content staged. bench/start.sh and bench/catalog.sh start the
// daemon on it. With -rows it also writes the same recordings and events as
// tab-separated rows for sqlite3's .import (bench/catalog.sh compares).
//
//	go run ./bench/catalogbuild -config FILE -n 1000000 [-rows DIR]
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"custodian/internal/config"
	"custodian/storage/catalog"
	"custodian/storage/catalog/catalogtest"
	"custodian/storage/staging"
)

func main() {
	configPath := flag.String("config", "", "the daemon's config file (data_dir, timezone, retention)")
	n := flag.Int("n", 1_000_000, "recordings")
	ahead := flag.Duration("ahead", 10*time.Minute, "build the catalog as of now plus this, so the daemon's first sweep finds nothing due")
	rows := flag.String("rows", "", "also write recordings.tsv and events.tsv here, for sqlite3")
	flag.Parse()
	if err := run(*configPath, *n, *ahead, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "catalogbuild:", err)
		os.Exit(1)
	}
}

func run(configPath string, n int, ahead time.Duration, rowsDir string) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	p := cfg.RetentionPolicy()
	cat, err := catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{NoSync: true})
	if err != nil {
		return err
	}
	st, err := staging.Open(filepath.Join(cfg.DataDir, "staging"))
	if err != nil {
		cat.Close()
		return err
	}
	var tw *tsvWriter
	if rowsDir != "" {
		if tw, err = newTSV(rowsDir); err != nil {
			cat.Close()
			return err
		}
	}
	start := time.Now()
	s := catalogtest.Station{N: n, Now: start.Add(ahead), LocalKeep: p.LocalKeep, Grace: p.Grace, RetainUntil: p.RetainUntil,
		Stage: func(content []byte) error {
			_, err := st.Put(context.Background(), bytes.NewReader(content), int64(len(content)), nil)
			return err
		}}
	if tw != nil {
		s.Row = tw.row
	}
	err = s.Build(cat)
	if cerr := cat.Close(); err == nil {
		err = cerr
	}
	if tw != nil {
		if cerr := tw.close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "catalogbuild: %d recordings in %v\n", n, time.Since(start).Round(time.Second))
	return nil
}

// tsvWriter writes the rows bench/catalog.sh loads into sqlite: one
// recording a line with the columns its queries and indexes use and the
// rest of the record as its JSON, one event a line with a chain hash.
type tsvWriter struct {
	recs, events *os.File
	rw, ew       *bufio.Writer
	seq          uint64
}

func newTSV(dir string) (*tsvWriter, error) {
	recs, err := os.Create(filepath.Join(dir, "recordings.tsv"))
	if err != nil {
		return nil, err
	}
	events, err := os.Create(filepath.Join(dir, "events.tsv"))
	if err != nil {
		recs.Close()
		return nil, err
	}
	return &tsvWriter{recs: recs, events: events, rw: bufio.NewWriter(recs), ew: bufio.NewWriter(events)}, nil
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (w *tsvWriter) row(e *catalog.Entry) error {
	r := &e.Recording
	held := 0
	if r.Permanent() {
		held = 1
	}
	fmt.Fprintf(w.rw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%s\n",
		r.ID, r.Officer, r.Device, r.Source, r.SourceID, r.State, r.SHA256, ns(r.StartedAt), ns(r.ReceivedAt),
		ns(r.RetainUntil), ns(r.ArchivedAt), ns(r.EvictedAt), ns(r.ExpiringAt), held, r.Name, r.Size, strings.Join(r.Cases, ","))
	for _, ev := range e.Events {
		w.seq++
		fmt.Fprintf(w.ew, "%d\t%d\t%s\t%d\t%s\t%s\t%064x\t%064x\n", w.seq, r.ID, ev.Type, ns(ev.Time), ev.Actor, ev.Detail, w.seq-1, w.seq)
	}
	return nil
}

func (w *tsvWriter) close() error {
	err := w.rw.Flush()
	if e := w.ew.Flush(); err == nil {
		err = e
	}
	if e := w.recs.Close(); err == nil {
		err = e
	}
	if e := w.events.Close(); err == nil {
		err = e
	}
	return err
}
