// Package catalogtest sets up catalogs for the tests of every package that
// keeps recordings.
package catalogtest

import (
	"path/filepath"
	"testing"
	"time"

	"custodian/storage/catalog"
)

// T0 is the instant test records start at, unless a test says otherwise.
var T0 = time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)

// Open is a fresh catalog in the test's temporary directory, closed when
// the test ends.
func Open(t testing.TB, o catalog.Options) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Open(filepath.Join(t.TempDir(), "custodian.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Record is a verified dock recording of 10 bytes.
func Record(device, officer, name, sha string, started time.Time) catalog.Recording {
	return catalog.Recording{Station: "st01", Source: catalog.SourceDock, SourceID: "dock-a", Device: device, Officer: officer,
		Name: name, SHA256: sha, Size: 10, StartedAt: started, ModTime: started.Add(time.Minute), State: catalog.StateVerified}
}

// SHA is a well-formed hash made of one repeated hex digit.
func SHA(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
