package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/admin"
	"custodian/storage/catalog"
)

// TestUserCommands: user add prints a token once and keeps only its hash,
// in a file only its owner reads; the daemon takes the token; user disable
// shuts the user out; user list shows no hash.
func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("# station st01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args, "--users-file", users), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	liTok, msg, err := cli("user", "add", "li.na", "--role", "operator")
	if err != nil || !strings.Contains(msg, "shown this once") {
		t.Fatalf("add: %v %s", err, msg)
	}
	liTok = strings.TrimSpace(liTok)
	if !strings.HasPrefix(liTok, "li.na:") || len(liTok) != len("li.na:")+43 {
		t.Fatalf("token %q", liTok)
	}
	if _, _, err := cli("user", "add", "zhao.wei", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{"add", "LI.NA", "--role", "viewer"}, {"add", "x", "--role", "admin"}, {"add", "shared-token", "--role", "viewer"}, {"disable", "nobody"}, {"list", "x"}} {
		if _, _, err := cli(append([]string{"user"}, bad...)...); err == nil {
			t.Errorf("user %v: no error", bad)
		}
	}
	b, err := os.ReadFile(users)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(users); fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode %v", fi.Mode())
	}
	if strings.Contains(string(b), strings.TrimPrefix(liTok, "li.na:")) || !strings.HasPrefix(string(b), "# station st01\n") {
		t.Fatalf("users file:\n%s", b)
	}

	// The daemon reads the file and knows li.na by the token.
	parsed, err := admin.ParseUsers(b)
	if err != nil {
		t.Fatal(err)
	}
	cat := openTestCatalog(t)
	ts := httptest.NewServer(admin.New(admin.Config{Station: "st01", Users: parsed}, cat, prometheus.NewRegistry(), nil).Handler())
	t.Cleanup(ts.Close)
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/notes", strings.NewReader(`{"text":"shift start"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+liTok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ev, _ := cat.RecentEvents(1); res.StatusCode != 201 || len(ev) != 1 || ev[0].Actor != "li.na" {
		t.Fatalf("note with the new token: %d %+v", res.StatusCode, ev)
	}

	if _, _, err := cli("user", "disable", "li.na"); err != nil {
		t.Fatal(err)
	}
	out, _, err := cli("user", "list")
	want := "NAME      ROLE      STATUS\nli.na     operator  disabled\nzhao.wei  viewer    enabled\n"
	if err != nil || out != want {
		t.Fatalf("list: %v\n%s\nwant\n%s", err, out, want)
	}
	b, _ = os.ReadFile(users)
	parsed, err = admin.ParseUsers(b)
	if err != nil || !parsed[0].Disabled || parsed[1].Disabled {
		t.Fatalf("after disable: %v %+v", err, parsed)
	}
	if err := os.Chmod(users, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli("user", "list"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable users file: %v", err)
	}
}

func openTestCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Open(filepath.Join(t.TempDir(), "custodian.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}
