// Command custodian takes in a police station's body-camera and interview
// recordings, proves they are unaltered, archives them and keeps them as long
// as the rules demand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"custodian/internal/config"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitConfig  = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "custodian:", err)
	}
	os.Exit(exitCode(err))
}

const usage = `usage: custodian <command> [flags]

commands:
  serve     run the daemon: watch docks, stage and verify, serve the admin API
  ls        list every matching recording (asks the running daemon, or reads the catalog):
            --officer --device --state --flag --from --to --limit;
            ls --room R shows an interview room's segments, gaps and sessions
  archive   archive init: create or check the Object Lock bucket
  verify    verify --archive|--local [--sample N]: hash every archived object or staged copy again
  status    show storage health, docks, backlog and alerts of the running daemon
  hold      put recordings in the permanent class: --reason R --why TEXT [--case C] (--id ID | --officer N|--room R --from T --to T)
  release   remove one reason from a recording: --id ID --reason R --why TEXT
            (a legal reason: asks; a second supervisor approves with request approve)
  restore   undo a pending expiry during the grace period: --id ID --why TEXT (asks, as release)
  request   request list | show ID | approve ID --why TEXT | reject ID --why TEXT |
            export --case C --why TEXT: decisions that take two supervisors
  case      case link --case C (selectors) | case show C
  retention retention plan [--at TIME]: what would be evicted or deleted, without doing it
  report    report --day YYYY-MM-DD: the daily completeness report
  audit     audit verify: check the hash chain of the custody trail
  interview start|stop   open or close an interview session in a room
  export    export --case C (--out DIR | --tar FILE) [--why TEXT]: a case's court export;
            export verify DIR|FILE: check an export offline
  catalog   catalog compact | catalog check: rewrite the catalog file in the current format, or prove it whole (daemon stopped)
  user      user add NAME --role R | user list | user disable NAME: who may use the admin API
  version   print the version

Run 'custodian <command> -h' for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "ls":
		return ls(ctx, args[1:], stdout, stderr)
	case "archive":
		return archiveCmd(ctx, args[1:], stdout, stderr)
	case "verify":
		return verify(ctx, args[1:], stdout, stderr)
	case "status":
		return status(ctx, args[1:], stdout, stderr)
	case "hold":
		return hold(ctx, args[1:], stdout, stderr)
	case "release":
		return release(ctx, args[1:], stdout, stderr)
	case "restore":
		return restore(ctx, args[1:], stdout, stderr)
	case "request":
		return requestCmd(ctx, args[1:], stdout, stderr)
	case "case":
		return caseCmd(ctx, args[1:], stdout, stderr)
	case "retention":
		return retentionCmd(ctx, args[1:], stdout, stderr)
	case "report":
		return report(ctx, args[1:], stdout, stderr)
	case "audit":
		return audit(ctx, args[1:], stdout, stderr)
	case "interview":
		return interview(ctx, args[1:], stdout, stderr)
	case "export":
		return exportCmd(ctx, args[1:], stdout, stderr)
	case "catalog":
		return catalogCmd(ctx, args[1:], stdout, stderr)
	case "user":
		return userCmd(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "custodian", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", args[0])}
	}
}

// usageError marks a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// configError marks a config file that could not be used.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ue usageError
	var ce configError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		return exitConfig
	default:
		return exitFailure
	}
}

// parseFlags parses a subcommand's flags; positional arguments are errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// loadConfig loads the config file; any problem is a configError.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, configError{err}
	}
	return cfg, nil
}
