//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A station's catalog holds a million recordings within a year or two. A
// plan request over one that its client gives up on mid-way stops within a
// second: the daemon reads the catalog under the request's context, and
// no computation nobody wants holds the catalog, memory or a shutdown.
func TestPlanStopsWhenClientLeaves(t *testing.T) {
	const n = 1_000_000
	dir := t.TempDir()
	addr := freeAddr(t)
	config := filepath.Join(dir, "custodian.yaml")
	cfg := fmt.Sprintf(`station: st01
timezone: Asia/Shanghai
data_dir: %s
admin: {listen: %s, users_file: %s}
log: {level: warn}
%s`, filepath.Join(dir, "data"), addr, usersFile, anyClock)
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The benchmark's own builder: the project's write path, in batches.
	built := time.Now()
	build := exec.Command("go", "run", "../bench/catalogbuild", "-config", config, "-n", strconv.Itoa(n))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("catalogbuild: %v\n%s", err, out)
	}
	t.Logf("catalog of %d recordings built in %s", n, time.Since(built).Round(time.Second))

	d := start(t, config, addr)
	defer d.stop()
	const route = `custodian_admin_requests_in_flight{route="GET /api/v1/retention/plan"}`
	inFlight := func() float64 {
		res, err := apiGet("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), route+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return 0
	}

	// The daemon checks a token's bcrypt hash once, at its first call
	// (over a second in this race-detector build), before any handler:
	// that first call is made here.
	if res, err := apiGet("http://" + addr + "/api/v1/status"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("status: %v %v", res, err)
	}

	// Two years ahead: everything not held becomes due, which the plan
	// reads record by record and writes step by step.
	at := time.Now().AddDate(2, 0, 0).UTC().Format(time.RFC3339)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/retention/plan?at="+at, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	answered := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil { // the answer streams: read it all, as the CLI does
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		answered <- err
	}()
	waitFor(t, "the plan request to be in flight", 10*time.Second, func() bool { return inFlight() == 1 })
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-answered:
		t.Fatalf("the plan answered (%v) before the client left: not cancelled mid-way; plan further ahead", err)
	default:
	}
	cancel()
	left := time.Now()
	for inFlight() != 0 {
		if time.Since(left) > 10*time.Second {
			t.Fatalf("the plan handler still runs 10 s after its client left")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := time.Since(left)
	t.Logf("plan handler stopped %s after its client left", stopped.Round(time.Millisecond))
	if stopped > time.Second {
		t.Fatalf("plan handler stopped %s after its client left; want within 1 s", stopped)
	}
	if res, err := apiGet("http://" + addr + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the cancelled plan: %v", err)
	}
}
