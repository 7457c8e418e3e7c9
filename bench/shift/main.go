// Command shift is bench/shift.sh's helper: it writes the cameras of a shift
// change (deterministic content, GA/T 947 names, past mtimes), docks them
// into a running daemon's dock and times each camera until it is empty,
// checks the catalog against what was written, and reads the daemon's JSON
// log for where the time went.
//
//	shift gen -dir D -cameras 20 -files 4 -min 50331648 -max 50331648 -seed 1 -end T -manifest M [-devices F]
//	shift dock -from STAGE -to DOCK -pid PID [-poll 100ms] [-timeout 1h] [-t0 FILE]
//	shift check -manifest M < ls.json
//	shift logstat -t0 FILE < serve.log
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: shift gen|dock|check|logstat [flags]")
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "gen":
		err = gen(args)
	case "dock":
		err = dock(args)
	case "check":
		err = check(args)
	case "logstat":
		err = logstat(args)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shift:", err)
		os.Exit(1)
	}
}
