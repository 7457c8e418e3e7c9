package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"custodian/admin"
	"custodian/internal/config"
)

const userUsage = `usage: custodian user add NAME --role viewer|operator|supervisor [--users-file F]
       custodian user list [--users-file F]
       custodian user disable NAME [--users-file F]
The users file defaults to admin.users_file; under systemd that is a read-only
credential copy, so name the source (e.g. --users-file /etc/custodian/users)
and restart custodian for the daemon to read it.`

// userCmd manages admin.users_file: who may use the admin API and status
// page, and in which role. It edits the file, never the running daemon.
func userCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list" && args[0] != "disable") {
		fmt.Fprintln(stderr, userUsage)
		return usageError{errors.New("user: want add, list or disable")}
	}
	verb, rest := args[0], args[1:]
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("user "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", defaultConfigPath, "config file")
	usersFile := fs.String("users-file", "", "the users file (default: admin.users_file)")
	role := fs.String("role", "", "viewer, operator or supervisor (add)")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if (verb == "list") != (name == "") {
		return usageError{fmt.Errorf("user %s: %s", verb, map[bool]string{true: "takes no name", false: "want a NAME"}[verb == "list"])}
	}
	path := *usersFile
	if path == "" {
		cfg, err := loadConfig(*configPath)
		if err != nil {
			return err
		}
		if path = cfg.Admin.UsersFile; path == "" {
			return usageError{errors.New("admin.users_file is not set: give --users-file")}
		}
	}
	switch verb {
	case "add":
		return userAdd(path, name, *role, stdout, stderr)
	case "disable":
		return userDisable(path, name, stderr)
	default:
		return userList(path, stdout)
	}
}

// readUsers reads the users file: missing is empty; others may not read it.
func readUsers(path string) ([]byte, []admin.User, error) {
	b, err := config.AdminConfig{UsersFile: path}.ReadUsersFile()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	users, err := admin.ParseUsers(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, users, nil
}

func userAdd(path, name, roleName string, stdout, stderr io.Writer) error {
	role, err := admin.ParseRole(roleName)
	if err != nil {
		return usageError{fmt.Errorf("--role: %w", err)}
	}
	b, users, err := readUsers(path)
	if err != nil {
		return err
	}
	for _, u := range users {
		if strings.EqualFold(u.Name, name) {
			return fmt.Errorf("user %s is already in %s", u.Name, path)
		}
	}
	tok, hash, err := admin.NewToken(name)
	if err != nil {
		return usageError{fmt.Errorf("user add: %w", err)}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	b = append(b, admin.FormatUser(admin.User{Name: name, Role: role, Hash: hash})+"\n"...)
	if err := writePrivate(path, b); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "added %s as %s to %s; restart custodian for the daemon to read it.\n"+
		"The token follows, shown this once: give it to %s to keep in a file only they can read (chmod 600),\n"+
		"for --token-file or $%s.\n", name, role, path, name, tokenFileEnv)
	fmt.Fprintln(stdout, tok)
	return nil
}

func userDisable(path, name string, stderr io.Writer) error {
	b, _, err := readUsers(path)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(b), "\n")
	found := false
	for i, line := range lines {
		body, _, _ := strings.Cut(line, "#")
		us, err := admin.ParseUsers([]byte(body))
		if err != nil || len(us) != 1 || us[0].Name != name {
			continue
		}
		found, us[0].Disabled = true, true
		lines[i] = admin.FormatUser(us[0]) + "\n"
	}
	if !found {
		return fmt.Errorf("no user %s in %s", name, path)
	}
	if err := writePrivate(path, []byte(strings.Join(lines, ""))); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "disabled %s in %s; restart custodian for the daemon to read it.\n", name, path)
	return nil
}

func userList(path string, stdout io.Writer) error {
	_, users, err := readUsers(path)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATUS")
	for _, u := range users {
		st := "enabled"
		if u.Disabled {
			st = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, st)
	}
	return tw.Flush()
}

// writePrivate replaces path with b, mode 0600, so that a crash leaves
// the old file or the new one, never half of either.
func writePrivate(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".users-*")
	if err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("users file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("users file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("users file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("users file: sync %s: %w", dir, err)
	}
	return nil
}
