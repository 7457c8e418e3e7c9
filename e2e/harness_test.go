//go:build e2e

// Package e2e runs the real custodian binary against real directories and
// servers. Run with: go test -tags e2e ./e2e/...
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"custodian/internal/testlog"
)

// binary is the custodian built once for the whole run.
var binary string

// The rigs' admin user, made once with the real `custodian user add`:
// every rig's config names usersFile, and the harness's CLI runs and API
// reads authenticate with the token, as a station's supervisor would.
var (
	usersFile, tokenFile, token string
)

// e2eUser is the supervisor the rigs act as.
const e2eUser = "e2e.admin"

// e2eSecond is a second supervisor, for what two people must approve; his
// token is in secondTokenFile.
const e2eSecond = "e2e.second"

var secondTokenFile string

// addUser adds name with role to the users file and returns its token.
func addUser(name, role string) (string, error) {
	out, err := exec.Command(binary, "user", "add", name, "--role", role, "--users-file", usersFile).Output()
	if err != nil {
		return "", fmt.Errorf("user add %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "custodian-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = os.Getenv("CUSTODIAN_BIN")
	if binary == "" {
		binary = filepath.Join(dir, "custodian")
		out, err := exec.Command("go", "build", "-race", "-o", binary, "../cmd/custodian").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build custodian: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	usersFile, tokenFile = filepath.Join(dir, "users"), filepath.Join(dir, "token")
	if token, err = addUser(e2eUser, "supervisor"); err == nil {
		err = os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	}
	secondTokenFile = filepath.Join(dir, "token-second")
	if err == nil {
		var second string
		if second, err = addUser(e2eSecond, "supervisor"); err == nil {
			err = os.WriteFile(secondTokenFile, []byte(second+"\n"), 0o600)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// anyClock is the clock section of every rig: whether this machine's clock
// is synchronised by NTP must not decide whether retention runs in a test;
// steps of the clock still count.
const anyClock = "clock: {require_sync: false}\n"

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  *testlog.Buffer
	addr string
	done chan error
}

// start runs `custodian serve` and waits until its admin API answers.
func start(t *testing.T, config, addr string) *daemon {
	t.Helper()
	d := &daemon{t: t, log: &testlog.Buffer{}, addr: addr, done: make(chan error, 1)}
	d.cmd = exec.Command(binary, "serve", "--config", config)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("custodian log:\n%s", d.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			t.Fatalf("custodian exited at start: %v\n%s", err, d.log.String())
		default:
		}
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("custodian did not become healthy\n%s", d.log.String())
	return nil
}

// stop sends SIGTERM and expects a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Fatalf("custodian exit after SIGTERM: %v\n%s", err, d.log.String())
		}
	case <-time.After(30 * time.Second):
		d.t.Fatal("custodian did not stop within 30s of SIGTERM")
	}
}

// kill9 kills the daemon the hard way, as a power cut would.
func (d *daemon) kill9() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// waitLog waits until the daemon's log contains s.
func (d *daemon) waitLog(s string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(d.log.String(), s) {
		if time.Now().After(deadline) {
			d.t.Fatalf("log never said %q:\n%s", s, d.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cli runs a custodian subcommand and returns its stdout.
func cli(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "CUSTODIAN_TOKEN_FILE="+tokenFile)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("custodian %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// recording is the part of a catalog record the tests check.
type recording struct {
	ID         uint64    `json:"id"`
	Device     string    `json:"device"`
	Officer    string    `json:"officer"`
	Name       string    `json:"name"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	State      string    `json:"state"`
	Important  bool      `json:"important"`
	VerifiedAt time.Time `json:"verified_at"`
	ReleasedAt time.Time `json:"released_at"`
	ReceivedAt time.Time `json:"received_at"`
	Flags      []string  `json:"flags"`
}

func listRecordings(t *testing.T, config string, args ...string) []recording {
	t.Helper()
	var resp struct {
		Recordings []recording `json:"recordings"`
	}
	out := cli(t, append([]string{"ls", "--json", "--config", config}, args...)...)
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("ls output: %v\n%s", err, out)
	}
	return resp.Recordings
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiGet reads the admin API or page as the rigs' supervisor.
func apiGet(url string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return http.DefaultClient.Do(req)
}

// runExpectFail runs a command that should fail and returns its output.
func runExpectFail(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}
