// Package testenv decides, for tests, what a missing real part means: a skip
// on a developer's machine, a failure in CI (CI=true), where a skipped
// real-server test would hide a regression.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Need skips the test for want of what, or fails it under CI.
func Need(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required in CI (scripts/test-deps.sh installs what it can): %s", what)
	}
	t.Skip("not available: " + what)
}

// Tool returns the path of a command, or stops the test as Need does.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Need(t, name+" ("+err.Error()+")")
	}
	return p
}

// MountTmpfs mounts a tmpfs of size (e.g. "8m") on dir, which must exist,
// so a test can fill a real filesystem; it is unmounted when the test ends.
// It needs root.
func MountTmpfs(t testing.TB, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Need(t, "root, to mount a tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		Need(t, "a tmpfs mount: "+err.Error()+" "+string(out))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}
