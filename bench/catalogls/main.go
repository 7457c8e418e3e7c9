// Command catalogls times the officer-day listing inside the process, on
// the catalog file alone, as bench/catalog.sh times sqlite3's: the query
// and its decoded rows, no HTTP and no JSON. Each query is run once to
// warm it, then timed; it prints the median in milliseconds.
//
//	go run ./bench/catalogls -db custodian.db OFFICER,FROM_NS,TO_NS ...
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"custodian/storage/catalog"
)

func main() {
	db := flag.String("db", "", "the catalog file (opened read-only)")
	flag.Parse()
	if err := run(*db, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "catalogls:", err)
		os.Exit(1)
	}
}

func run(db string, queries []string) error {
	c, err := catalog.Open(db, catalog.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer c.Close()
	var took []time.Duration
	found := 0
	for _, q := range queries {
		f, err := filter(q)
		if err != nil {
			return err
		}
		if _, err := c.List(f); err != nil {
			return err
		}
		t := time.Now()
		recs, err := c.List(f)
		took = append(took, time.Since(t))
		if err != nil {
			return err
		}
		found += len(recs)
	}
	if len(took) == 0 {
		return fmt.Errorf("no queries")
	}
	slices.Sort(took)
	fmt.Printf("%.3f %d\n", float64(took[len(took)/2])/1e6, found)
	return nil
}

// filter reads OFFICER,FROM_NS,TO_NS: the officer and the day's bounds in
// Unix nanoseconds.
func filter(q string) (catalog.Filter, error) {
	parts := strings.Split(q, ",")
	if len(parts) != 3 {
		return catalog.Filter{}, fmt.Errorf("query %q: want OFFICER,FROM_NS,TO_NS", q)
	}
	from, err1 := strconv.ParseInt(parts[1], 10, 64)
	to, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return catalog.Filter{}, fmt.Errorf("query %q: bounds are Unix nanoseconds", q)
	}
	return catalog.Filter{Officer: parts[0], From: time.Unix(0, from), To: time.Unix(0, to)}, nil
}
