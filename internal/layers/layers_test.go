// Package layers holds one test: the project's imports point one way, as the
// README's code map says.
package layers

import (
	"go/build"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "custodian"

// may lists, for each layer, the project packages it may import besides
// its own. Dependencies point one way: cmd -> admin, ingest/*, retention ->
// storage/*, hardware/* -> internal leaves.
var may = []struct {
	layer   string
	imports []string
}{
	{"cmd/", []string{""}}, // anything
	{"bench/", []string{""}},
	{"e2e", []string{"internal/", "storage/", "hardware/"}},
	{"admin", []string{"admin/", "storage/", "hardware/", "internal/text", "internal/digest", "internal/testlog", "internal/testenv"}},
	{"retention", []string{"storage/", "hardware/", "internal/text", "internal/digest", "internal/testlog", "internal/testenv", "internal/miniotest"}},
	{"ingest", []string{"ingest", "storage/", "hardware/", "internal/text", "internal/digest", "internal/testlog", "internal/testenv"}},
	{"storage/", []string{"storage/", "hardware/", "internal/text", "internal/digest", "internal/testlog", "internal/testenv", "internal/miniotest"}},
	{"hardware/", []string{"hardware/", "internal/text", "internal/digest", "internal/testlog", "internal/testenv"}},
	{"internal/config", []string{"retention", "storage/", "hardware/", "ingest/", "internal/text"}},
	{"internal/", []string{"internal/testenv"}},
	{"configs", []string{"internal/", "admin", "storage/", "hardware/", "ingest/", "retention"}},
	{"systemd", []string{"internal/"}},
}

// rtsp may be imported only where streams are read and written.
var rtsp = []string{"ingest/room", "ingest/fmp4", "bench/rtspsrc"}

func TestImportsPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dir := range strings.Fields(string(out)) {
		p, err := build.ImportDir(dir, build.ImportComment)
		if err != nil {
			continue // no buildable files (test-only package)
		}
		rel := relative(dir)
		imports := append(append(append([]string{}, p.Imports...), p.TestImports...), p.XTestImports...)
		for _, imp := range imports {
			if strings.HasPrefix(imp, "github.com/bluenviron/gortsplib") && !within(rel, rtsp) {
				t.Errorf("%s imports %s; only %v may", rel, imp, rtsp)
			}
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			target := strings.TrimPrefix(imp, module+"/")
			if target == rel || strings.HasPrefix(target, rel+"/") {
				continue // its own sub-packages (archivetest, catalogtest, api)
			}
			if !allowed(rel, target) && !testHelper(target) {
				t.Errorf("%s imports %s: against the one-way rule", rel, target)
			}
		}
	}
}

// testHelper packages serve every layer's tests and import nothing above.
func testHelper(pkg string) bool {
	switch pkg {
	case "internal/golden", "internal/testlog", "internal/testenv", "internal/miniotest":
		return true
	}
	return false
}

func relative(dir string) string {
	i := strings.LastIndex(dir, "/"+module+"/")
	if i < 0 {
		// The module root may be checked out under any name.
		out, _ := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		root := strings.TrimSpace(string(out))
		return strings.TrimPrefix(strings.TrimPrefix(dir, root), "/")
	}
	return dir[i+len(module)+2:]
}

func allowed(from, to string) bool {
	for _, m := range may {
		if !matches(from, m.layer) {
			continue
		}
		for _, ok := range m.imports {
			if ok == "" || matches(to, ok) {
				return true
			}
		}
		return false
	}
	return false
}

// matches: "storage/" is anything below storage, "ingest" is ingest and below.
func matches(pkg, pattern string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(pkg, pattern)
	}
	return pkg == pattern || strings.HasPrefix(pkg, pattern+"/")
}

func within(pkg string, list []string) bool {
	for _, l := range list {
		if pkg == l || path.Dir(pkg) == l {
			return true
		}
	}
	return false
}
